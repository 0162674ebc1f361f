using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Registry.Core.Names;

/// <summary>
/// A repository name as the distribution spec defines <c>&lt;name&gt;</c>
/// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests):
/// path components of lower-case alphanumerics joined by <c>.</c>, <c>_</c>, <c>__</c> or dashes,
/// separated by <c>/</c>, at most 255 characters in all.
/// </summary>
public static partial class RepositoryName
{
    public const int MaxLength = 255;

    public static bool IsValid([NotNullWhen(true)] string? name) =>
        name is { Length: > 0 and <= MaxLength } && Pattern().IsMatch(name);

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
