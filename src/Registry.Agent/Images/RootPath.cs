namespace Registry.Agent.Images;

/// <summary>
/// Joins a path from an image layer to the root filesystem being built, resolving symbolic links as the
/// container will see them (an absolute target starts again at the root, <c>..</c> stops at the root),
/// so that no layer entry can write through a link to a place outside the root.
/// </summary>
public static class RootPath
{
    private const int MaxLinks = 255;

    /// <summary>
    /// The host path for <paramref name="relative"/> (as <see cref="Normalize"/> returns it) inside <paramref name="root"/>; every parent component is
    /// resolved through links, the last one is not (it is what the caller creates, replaces or removes).
    /// </summary>
    public static string Join(string root, string relative)
    {
        var parts = Split(relative);
        if (parts.Count == 0)
        {
            return root;
        }

        return Path.Combine(Resolve(root, parts.Take(parts.Count - 1)), parts[^1]);
    }

    /// <summary>The host path for <paramref name="relative"/> with every component resolved, the last one too.</summary>
    public static string Resolve(string root, string relative) => Resolve(root, Split(relative));

    /// <summary>A layer entry's name as a path relative to the root; null when it names the root itself.</summary>
    public static string? Normalize(string name)
    {
        var parts = new List<string>();
        foreach (var part in name.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    throw new LayerException($"The layer entry '{name}' points outside the root filesystem.");
                }

                parts.RemoveAt(parts.Count - 1);
                continue;
            }

            parts.Add(part);
        }

        return parts.Count == 0 ? null : string.Join('/', parts);
    }

    private static string Resolve(string root, IEnumerable<string> components)
    {
        var pending = new Stack<string>(components.Reverse());
        var resolved = new List<string>();
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part is "." or "")
            {
                continue;
            }

            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            var candidate = Path.Combine(root, Path.Combine([.. resolved, part]));
            var info = new FileInfo(candidate);
            if (info.Exists || Directory.Exists(candidate) || info.LinkTarget is not null)
            {
                if (info.LinkTarget is { } target)
                {
                    if (++links > MaxLinks)
                    {
                        throw new LayerException($"Too many levels of symbolic links under {string.Join('/', resolved)}.");
                    }

                    if (target.StartsWith('/'))
                    {
                        resolved.Clear();
                    }

                    foreach (var next in Split(target).AsEnumerable().Reverse())
                    {
                        pending.Push(next);
                    }

                    continue;
                }
            }

            resolved.Add(part);
        }

        return resolved.Count == 0 ? root : Path.Combine(root, Path.Combine([.. resolved]));
    }

    private static List<string> Split(string path) => path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
}

/// <summary>A layer that cannot be applied safely (an entry outside the root, a link loop, a damaged archive).</summary>
public sealed class LayerException : Exception
{
    public LayerException()
    {
    }

    public LayerException(string message)
        : base(message)
    {
    }

    public LayerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
