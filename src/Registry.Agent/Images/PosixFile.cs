using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Registry.Agent.Images;

/// <summary>The two file operations .NET has no API for: hard links and changing a file's owner without following links.</summary>
internal static class PosixFile
{
    public static void Link(string existing, string path)
    {
        if (NativeLink(existing, path) != 0)
        {
            throw new LayerException($"Cannot link {path} to {existing}: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }
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

    [DllImport("libc", EntryPoint = "lchown", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int NativeLchown(string path, int uid, int gid);
}
