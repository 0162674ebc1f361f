using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Registry.Core.Names;

/// <summary>
/// A tag: <c>[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}</c>
/// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests).
/// </summary>
public static partial class TagName
{
    public static bool IsValid([NotNullWhen(true)] string? tag) => tag is not null && Pattern().IsMatch(tag);

    [GeneratedRegex(@"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
