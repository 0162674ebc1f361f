using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Registry.Storage.FileSystem;

/// <summary>
/// Disk flushing .NET has no API for: fsync of a directory (after a rename the directory entry itself
/// must reach the disk, or a crash can lose a blob whose 201 was already sent) and early writeback.
/// </summary>
internal static partial class Durability
{
    private const int ReadOnly = 0;
    private const int Directory = 0x10000;

    /// <summary>
    /// Creates <paramref name="path"/> and any missing parents, flushing the directory that holds each
    /// new one: a blob renamed into a directory whose own entry was lost in a crash is lost with it.
    /// </summary>
    public static void CreateDirectory(string path)
    {
        var missing = new Stack<string>();
        for (var current = Path.GetFullPath(path); !System.IO.Directory.Exists(current); current = Path.GetDirectoryName(current)!)
        {
            missing.Push(current);
        }

        System.IO.Directory.CreateDirectory(path);
        foreach (var created in missing)
        {
            FlushDirectory(Path.GetDirectoryName(created)!);
        }
    }

    public static void FlushDirectory(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = Open(path, ReadOnly | Directory);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory '{path}' to flush it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{path}' failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>
    /// Asks the kernel to start writing a range of a file to disk now, without waiting. Uploads call
    /// this as they go, so the fsync before the 201 finds little left to write and a large blob's
    /// flush overlaps its transfer instead of following it. Best effort: failures are ignored.
    /// </summary>
    public static void StartWriteback(SafeFileHandle handle, long offset, long length)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            _ = SyncFileRange((int)handle.DangerousGetHandle(), offset, length, SyncFileRangeWrite);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private const uint SyncFileRangeWrite = 2;

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
