using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Registry.Agent.Images;

/// <summary>The file operations .NET has no API for: hard links, inode numbers and changing a file's owner without following links.</summary>
internal static class PosixFile
{
    /// <summary>Where <c>st_ino</c> sits in <c>struct stat</c> on 64-bit Linux (x86-64 and arm64 alike), and room for the whole struct.</summary>
    private const int InodeOffset = 8;
    private const int StatSize = 256;

    public static void Link(string existing, string path)
    {
        if (!TryLink(existing, path))
        {
            throw new LayerException($"Cannot link {path} to {existing}: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }
    }

    public static bool TryLink(string existing, string path) => NativeLink(existing, path) == 0;

    /// <summary>The file's inode number, or null when it cannot be read (it is gone).</summary>
    public static ulong? Inode(string path)
    {
        var stat = new byte[StatSize];
        return NativeStat(path, stat) == 0 ? BitConverter.ToUInt64(stat, InodeOffset) : null;
    }

    public static void ChangeOwner(string path, int uid, int gid)
    {
        if (NativeLchown(path, uid, gid) != 0)
        {
            throw new LayerException($"Cannot give {path} to {uid}:{gid}: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }
    }

    [DllImport("libc", EntryPoint = "link", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int NativeLink(string existing, string path);

    [DllImport("libc", EntryPoint = "stat", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int NativeStat(string path, byte[] stat);

    [DllImport("libc", EntryPoint = "lchown", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int NativeLchown(string path, int uid, int gid);
}
