using System.Formats.Tar;
using System.IO.Compression;
using ZstdSharp;

namespace Registry.Agent.Images;

/// <summary>
/// Applies image layers (tar, gzip or zstd, told apart by their first bytes) to a root filesystem in
/// order, as the OCI image spec describes: <c>.wh.&lt;name&gt;</c> removes a lower layer's entry,
/// <c>.wh..wh..opq</c> hides everything lower layers put in its directory; regular files, directories,
/// symbolic and hard links with their modes, times and (as root) owners. An entry whose path leaves
/// the root, directly or through a link, stops the layer with a <see cref="LayerException"/>.
/// Device nodes are skipped: the runtime provides /dev.
/// </summary>
public static class LayerApplier
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueWhiteout = ".wh..wh..opq";

    public static async Task ApplyAsync(string root, Stream layer, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(root);
        await using var tar = await DecompressAsync(layer, cancellationToken);
        using var reader = new TarReader(tar);
        var written = new HashSet<string>(StringComparer.Ordinal);
        var opaque = new List<string>();
        var directoryTimes = new List<(string Path, DateTimeOffset Time)>();
        var owners = Environment.IsPrivilegedProcess;
        try
        {
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                if (RootPath.Normalize(entry.Name) is not { } name)
                {
                    continue;
                }

                var directory = Path.GetDirectoryName(name.Replace('/', Path.DirectorySeparatorChar))?.Replace(Path.DirectorySeparatorChar, '/') ?? "";
                var fileName = Path.GetFileName(name);
                if (fileName == OpaqueWhiteout)
                {
                    opaque.Add(directory);
                    continue;
                }

                if (fileName.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
                {
                    Remove(RootPath.Join(root, Combine(directory, fileName[WhiteoutPrefix.Length..])));
                    continue;
                }

                var path = RootPath.Join(root, name);
                written.Add(name);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        if (!Directory.Exists(path) || new FileInfo(path).LinkTarget is not null)
                        {
                            Remove(path);
                            Directory.CreateDirectory(path);
                        }

                        directoryTimes.Add((path, entry.ModificationTime));
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        Remove(path);
                        EnsureParent(root, path);
                        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                        {
                            if (entry.DataStream is { } data)
                            {
                                await data.CopyToAsync(file, cancellationToken);
                            }
                        }

                        File.SetLastWriteTimeUtc(path, entry.ModificationTime.UtcDateTime);
                        break;
                    case TarEntryType.SymbolicLink:
                        Remove(path);
                        EnsureParent(root, path);
                        File.CreateSymbolicLink(path, entry.LinkName);
                        break;
                    case TarEntryType.HardLink:
                        var target = RootPath.Normalize(entry.LinkName) is { } linkName ? RootPath.Join(root, linkName) : throw new LayerException($"The hard link '{entry.Name}' points at the root.");
                        if (!File.Exists(target))
                        {
                            throw new LayerException($"The hard link '{entry.Name}' points at '{entry.LinkName}', which the layers do not have.");
                        }

                        Remove(path);
                        EnsureParent(root, path);
                        PosixFile.Link(target, path);
                        break;
                    default:
                        // Devices, FIFOs and the like: the runtime sets up /dev.
                        written.Remove(name);
                        continue;
                }

                // A hard link shares its target's inode, owner and mode. Otherwise owner first: changing it
                // clears setuid and setgid, which the mode then sets.
                if (entry.EntryType == TarEntryType.HardLink)
                {
                    continue;
                }

                if (owners && entry is PosixTarEntry posix)
                {
                    PosixFile.ChangeOwner(path, posix.Uid, posix.Gid);
                }

                if (entry.EntryType != TarEntryType.SymbolicLink)
                {
                    SetMode(path, entry.Mode);
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ZstdException)
        {
            throw new LayerException($"The layer is not a readable tar archive: {e.Message}", e);
        }

        foreach (var directory in opaque)
        {
            HideLowerEntries(root, directory, written);
        }

        foreach (var (path, time) in directoryTimes)
        {
            Directory.SetLastWriteTimeUtc(path, time.UtcDateTime);
        }
    }

    /// <summary>Everything in <paramref name="directory"/> that this layer did not write itself comes from lower layers, and goes.</summary>
    private static void HideLowerEntries(string root, string directory, HashSet<string> written)
    {
        var path = directory.Length == 0 ? root : RootPath.Resolve(root, directory);
        if (!Directory.Exists(path))
        {
            return;
        }

        foreach (var child in new DirectoryInfo(path).EnumerateFileSystemInfos())
        {
            var relative = Combine(directory, child.Name);
            if (written.Contains(relative))
            {
                if (child is DirectoryInfo && child.LinkTarget is null)
                {
                    HideLowerEntries(root, relative, written);
                }

                continue;
            }

            if (!written.Any(w => w.StartsWith(relative + "/", StringComparison.Ordinal)))
            {
                Remove(child.FullName);
            }
            else if (child is DirectoryInfo && child.LinkTarget is null)
            {
                HideLowerEntries(root, relative, written);
            }
        }
    }

    private static string Combine(string directory, string name) => directory.Length == 0 ? name : directory + "/" + name;

    /// <summary>Removes a file, link (not its target) or directory tree; nothing when absent.</summary>
    private static void Remove(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null || info.Exists)
        {
            info.Delete();
        }
        else if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    /// <summary>Parents a layer did not list (some tools omit them) are made as 0755 directories.</summary>
    private static void EnsureParent(string root, string path)
    {
        if (Path.GetDirectoryName(path) is { } parent && parent.Length >= root.Length && !Directory.Exists(parent))
        {
            Directory.CreateDirectory(parent);
        }
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    private static async Task<Stream> DecompressAsync(Stream layer, CancellationToken cancellationToken)
    {
        var buffered = new BufferedStream(layer, 1 << 16);
        var magic = new byte[4];
        var read = 0;
        while (read < magic.Length && await buffered.ReadAsync(magic.AsMemory(read), cancellationToken) is var n and > 0)
        {
            read += n;
        }

        var prefixed = new PrefixedStream(magic.AsMemory(0, read), buffered);
        return magic switch
        {
            [0x1f, 0x8b, ..] => new GZipStream(prefixed, CompressionMode.Decompress),
            [0x28, 0xb5, 0x2f, 0xfd] => new DecompressionStream(prefixed),
            _ => prefixed,
        };
    }
}
