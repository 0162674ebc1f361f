namespace Registry.Auth;

/// <summary>
/// A resource and actions as the Docker token spec writes them: <c>repository:library/app:pull,push</c>,
/// <c>registry:catalog:*</c> (https://distribution.github.io/distribution/spec/auth/scope/).
/// </summary>
public sealed record AccessScope(string Type, string Name, IReadOnlyList<string> Actions)
{
    public const string Pull = "pull";
    public const string Push = "push";
    public const string Delete = "delete";

    public static bool TryParse(string value, out AccessScope? scope)
    {
        scope = null;
        var first = value.IndexOf(':', StringComparison.Ordinal);
        var last = value.LastIndexOf(':');
        if (first <= 0 || last <= first || last == value.Length - 1)
        {
            return false;
        }

        var actions = value[(last + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        scope = new AccessScope(value[..first], value[(first + 1)..last], actions.Distinct(StringComparer.Ordinal).ToList());
        return true;
    }

    public override string ToString() => $"{Type}:{Name}:{string.Join(',', Actions)}";
}
