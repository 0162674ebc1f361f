using System.Text.RegularExpressions;

namespace Registry.Security.Policies;

/// <summary>The outcome of evaluating every policy that applies to a request.</summary>
public enum Decision
{
    /// <summary>No statement allowed the request (IAM's default).</summary>
    ImplicitDeny,

    Allow,

    /// <summary>A statement denied the request; nothing overrides it.</summary>
    ExplicitDeny,
}

/// <summary>
/// IAM's evaluation logic for principals of one account: an explicit Deny in any applicable policy
/// wins; otherwise an Allow in an identity policy or in a resource policy (repository or registry)
/// allows; otherwise the request is implicitly denied.
/// </summary>
public static partial class PolicyEvaluator
{
    public static Decision Evaluate(RequestContext request, IEnumerable<PolicyDocument> identityPolicies, IEnumerable<PolicyDocument> resourcePolicies)
    {
        var allowed = false;

        // Identity policies belong to a principal; an anonymous request has none, whatever the caller passed.
        var applicable = request.Principal is null ? resourcePolicies : identityPolicies.Concat(resourcePolicies);
        foreach (var policy in applicable)
        {
            foreach (var statement in policy.Statements)
            {
                if (!Applies(policy, statement, request))
                {
                    continue;
                }

                if (statement.Effect == Effect.Deny)
                {
                    return Decision.ExplicitDeny;
                }

                allowed = true;
            }
        }

        return allowed ? Decision.Allow : Decision.ImplicitDeny;
    }

    /// <summary>Whether <paramref name="statement"/> covers the request: principal, action, resource and every condition.</summary>
    public static bool Applies(PolicyDocument policy, PolicyStatement statement, RequestContext request)
    {
        if (policy.Kind == PolicyKind.Resource)
        {
            if (statement.Principal is { } principal && !PrincipalMatches(principal, request.Principal))
            {
                return false;
            }

            if (statement.NotPrincipal is { } notPrincipal && PrincipalMatches(notPrincipal, request.Principal))
            {
                return false;
            }
        }

        if (statement.Action is { } action && !action.Patterns.Any(p => Wildcard.IsMatch(p, request.Action, StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        if (statement.NotAction is { } notAction && notAction.Patterns.Any(p => Wildcard.IsMatch(p, request.Action, StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        string? Substitute(string text) => policy.SupportsVariables ? SubstituteVariables(text, request) : text;

        if (statement.Resource is { } resource && !resource.Patterns.Any(p => Substitute(p) is { } pattern && ConditionEvaluator.ArnMatches(pattern, request.Resource)))
        {
            return false;
        }

        if (statement.NotResource is { } notResource && notResource.Patterns.Any(p => Substitute(p) is { } pattern && ConditionEvaluator.ArnMatches(pattern, request.Resource)))
        {
            return false;
        }

        return statement.Conditions.All(c => ConditionEvaluator.IsSatisfied(c, request, Substitute));
    }

    /// <summary>
    /// Whether a Principal element names the caller: <c>*</c> names everyone, signed in or not; an
    /// account id or <c>arn:aws:iam::&lt;account&gt;:root</c> every principal of that account; an ARN that principal
    /// (a role's ARN also its sessions).
    /// </summary>
    public static bool PrincipalMatches(PrincipalSet set, Principal? principal)
    {
        if (set.Anyone)
        {
            return true;
        }

        if (!set.ByType.TryGetValue("AWS", out var names))
        {
            return false;
        }

        foreach (var name in names)
        {
            if (name == "*")
            {
                return true;
            }

            if (principal is null)
            {
                continue;
            }

            if (name == principal.Account || name == $"arn:aws:iam::{principal.Account}:root" || name == principal.Arn || name == principal.RoleArn)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Replaces <c>${key}</c> with the request's value of that key (<c>${key, 'default'}</c> when it has
    /// none; <c>${*}</c>, <c>${?}</c>, <c>${$}</c> are the literal characters). Null when a variable has no
    /// value: the pattern then matches nothing, as in IAM.
    /// </summary>
    public static string? SubstituteVariables(string text, RequestContext request)
    {
        if (!text.Contains("${", StringComparison.Ordinal))
        {
            return text;
        }

        var unresolved = false;
        var result = VariablePattern().Replace(text, match =>
        {
            var name = match.Groups["name"].Value;
            if (name is "*" or "?" or "$")
            {
                return name;
            }

            if (request.Get(name) is [var value])
            {
                return value;
            }

            if (match.Groups["default"].Success)
            {
                return match.Groups["default"].Value;
            }

            unresolved = true;
            return "";
        });
        return unresolved ? null : result;
    }

    [GeneratedRegex(@"\$\{(?<name>[^},\s]+)\s*(,\s*'(?<default>[^']*)')?\s*\}")]
    private static partial Regex VariablePattern();
}
