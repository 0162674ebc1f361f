namespace Registry.Security.Policies;

/// <summary>Where a policy is attached, which decides which elements it must and must not have.</summary>
public enum PolicyKind
{
    /// <summary>Attached to a user, group or role: no Principal; Resource or NotResource required.</summary>
    Identity,

    /// <summary>Attached to a repository or the registry: Principal or NotPrincipal required; Resource optional (the resource it is attached to).</summary>
    Resource,
}

public enum Effect
{
    Allow,
    Deny,
}

/// <summary>A parsed IAM policy document (AWS's grammar); see <see cref="PolicyParser"/>.</summary>
public sealed record PolicyDocument(string? Version, string? Id, PolicyKind Kind, IReadOnlyList<PolicyStatement> Statements)
{
    /// <summary>The version that enables policy variables such as <c>${aws:username}</c>.</summary>
    public const string CurrentVersion = "2012-10-17";

    public bool SupportsVariables => Version == CurrentVersion;

    /// <summary>
    /// Whether a decision under this policy can depend on more than principal, action and resource:
    /// true when a statement has conditions, or a resource pattern a variable. Without, decisions can be remembered.
    /// </summary>
    public bool DependsOnRequest { get; } = Statements.Any(s => s.Conditions.Count > 0
        || (s.Resource ?? s.NotResource)?.Patterns.Any(p => p.Contains("${", StringComparison.Ordinal)) == true);
}

/// <summary>One statement. Exactly one of Action/NotAction is set; Resource/NotResource at most one (none: the resource a resource policy is attached to).</summary>
public sealed record PolicyStatement(
    string? Sid,
    Effect Effect,
    PrincipalSet? Principal,
    PrincipalSet? NotPrincipal,
    PatternSet? Action,
    PatternSet? NotAction,
    PatternSet? Resource,
    PatternSet? NotResource,
    IReadOnlyList<ConditionClause> Conditions);

/// <summary>Action or resource patterns with <c>*</c> and <c>?</c> wildcards.</summary>
public sealed record PatternSet(IReadOnlyList<string> Patterns);

/// <summary>
/// A Principal element: <c>"*"</c> (anyone, signed in or not) or principals by type
/// (<c>AWS</c>: account ids, <c>arn:aws:iam::&lt;account&gt;:root</c>, user and role ARNs, or <c>*</c>; <c>Service</c>; <c>Federated</c>).
/// </summary>
public sealed record PrincipalSet(bool Anyone, IReadOnlyDictionary<string, IReadOnlyList<string>> ByType);

/// <summary>
/// One key under one condition operator: <c>"ForAnyValue:StringLike": {"aws:TagKeys": ["team-*"]}</c>
/// is operator StringLike, qualifier ForAnyValue, key aws:TagKeys, one value.
/// </summary>
public sealed record ConditionClause(ConditionOperator Operator, SetQualifier Qualifier, bool IfExists, string Key, IReadOnlyList<string> Values);

public enum SetQualifier
{
    None,
    ForAnyValue,
    ForAllValues,
}
