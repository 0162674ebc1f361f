namespace Registry.Agent.Runtimes;

/// <summary>
/// An image as task definitions name it: <c>[registry/]repository[:tag][@digest]</c>. The registry is the
/// first component when it looks like a host (has a dot or a port, or is <c>localhost</c>), else Docker Hub.
/// </summary>
public sealed record ImageReference(string Registry, string Repository, string TagOrDigest)
{
    public static ImageReference Parse(string image)
    {
        var rest = image;
        string? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
        }

        var slash = rest.LastIndexOf('/');
        var colon = rest.LastIndexOf(':');
        string? tag = null;
        if (colon > slash)
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
        }

        var first = rest.Split('/')[0];
        var registry = rest.Contains('/', StringComparison.Ordinal) && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            ? first
            : "docker.io";
        return new ImageReference(registry, rest, digest ?? tag ?? "latest");
    }
}
