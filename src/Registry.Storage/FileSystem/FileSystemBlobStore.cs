using Microsoft.Win32.SafeHandles;
using Registry.Core.Content;

namespace Registry.Storage.FileSystem;

/// <summary>
/// Blobs as files named by digest (<c>blobs/sha256/ab/abcd…</c>), uploads as files named by
/// upload id (<c>uploads/&lt;id&gt;</c>). A blob becomes visible only by an atomic rename of a
/// flushed upload file, followed by a flush of the directory, so a crash never exposes a partial
/// blob and never loses an acknowledged one.
/// </summary>
public sealed class FileSystemBlobStore : IBlobStore
{
    /// <summary>
    /// FileShare.None finding the file locked: ERROR_SHARING_VIOLATION on Windows; on Unix .NET takes an
    /// flock and reports its EWOULDBLOCK errno (11 on Linux, 35 on macOS).
    /// </summary>
    private static bool IsLockConflict(IOException e) =>
        OperatingSystem.IsWindows() ? e.HResult == unchecked((int)0x80070020)
        : OperatingSystem.IsMacOS() ? e.HResult == 35
        : e.HResult == 11;

    private readonly string _blobRoot;
    private readonly string _uploadRoot;

    public FileSystemBlobStore(FileSystemBlobStoreOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.RootPath);
        var root = Path.GetFullPath(options.RootPath);
        _blobRoot = Path.Combine(root, "blobs");
        _uploadRoot = Path.Combine(root, "uploads");
        Directory.CreateDirectory(_blobRoot);
        Directory.CreateDirectory(_uploadRoot);
    }

    public Task<long?> GetLengthAsync(Digest digest, CancellationToken cancellationToken)
    {
        var file = new FileInfo(BlobPath(digest));
        return Task.FromResult(file.Exists ? file.Length : (long?)null);
    }

    public Task<Stream?> OpenReadAsync(Digest digest, CancellationToken cancellationToken)
    {
        try
        {
            Stream stream = new FileStream(BlobPath(digest), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return Task.FromResult<Stream?>(stream);
        }
        catch (FileNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
        catch (DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task<Uri?> GetDownloadUrlAsync(Digest digest, CancellationToken cancellationToken) => Task.FromResult<Uri?>(null);

    public Task<bool> DeleteAsync(Digest digest, CancellationToken cancellationToken)
    {
        var path = BlobPath(digest);
        if (!File.Exists(path))
        {
            return Task.FromResult(false);
        }

        File.Delete(path);
        return Task.FromResult(true);
    }

    public Task StartUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        using var _ = new FileStream(UploadPath(uploadId), FileMode.CreateNew, FileAccess.Write);
        return Task.CompletedTask;
    }

    public async Task<UploadProgress> WriteUploadAsync(string uploadId, UploadProgress current, Stream source, CancellationToken cancellationToken)
    {
        using var handle = OpenExclusive(uploadId);
        return new UploadProgress(await UploadFileWriter.WriteAsync(handle, current.Length, source, cancellationToken), null);
    }

    public Task<Stream> OpenUploadReadAsync(string uploadId, UploadProgress current, CancellationToken cancellationToken)
    {
        var stream = new FileStream(UploadPath(uploadId), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.SequentialScan);
        return Task.FromResult<Stream>(new LengthLimitedStream(stream, current.Length));
    }

    public Task CommitUploadAsync(string uploadId, UploadProgress current, Digest digest, CancellationToken cancellationToken)
    {
        var uploadPath = UploadPath(uploadId);
        using (var handle = File.OpenHandle(uploadPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            RandomAccess.SetLength(handle, current.Length);
            FlushToDisk(handle);
        }

        var blobPath = BlobPath(digest);
        var directory = Path.GetDirectoryName(blobPath)!;
        Durability.CreateDirectory(directory);
        try
        {
            File.Move(uploadPath, blobPath, overwrite: false);
        }
        catch (IOException) when (File.Exists(blobPath))
        {
            // Content addressed: whoever stored this digest first stored the same bytes.
            File.Delete(uploadPath);
            return Task.CompletedTask;
        }

        Durability.FlushDirectory(directory);
        return Task.CompletedTask;
    }

    public Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        File.Delete(UploadPath(uploadId));
        return Task.CompletedTask;
    }

    private SafeFileHandle OpenExclusive(string uploadId)
    {
        try
        {
            return File.OpenHandle(UploadPath(uploadId), FileMode.Open, FileAccess.ReadWrite, FileShare.None, FileOptions.Asynchronous);
        }
        catch (IOException e) when (IsLockConflict(e))
        {
            throw new UploadBusyException(uploadId, e);
        }
    }

    private static void FlushToDisk(SafeFileHandle handle)
    {
        using var stream = new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
        stream.Flush(flushToDisk: true);
    }

    private string BlobPath(Digest digest) =>
        Path.Combine(_blobRoot, digest.Algorithm, digest.Encoded[..2], digest.Encoded);

    private string UploadPath(string uploadId)
    {
        // Upload ids come from URLs: allow only what this store generates, never a path.
        if (uploadId.Length is 0 or > 64 || !uploadId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException("invalid upload id", nameof(uploadId));
        }

        return Path.Combine(_uploadRoot, uploadId);
    }
}
