using Registry.Core.Content;

namespace Registry.Storage;

/// <summary>
/// Holds blob bytes by digest, and the bytes of uploads in progress. It knows nothing of
/// repositories, offsets acknowledged to clients or digests' correctness: the caller hashes
/// while it streams and commits only verified content. Every backend (filesystem, S3, Azure)
/// implements this one contract.
/// </summary>
public interface IBlobStore
{
    /// <summary>The stored size of a blob, or null when it is not stored.</summary>
    Task<long?> GetLengthAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>Opens a blob for reading (seekable, for Range requests), or null when it is not stored.</summary>
    Task<Stream?> OpenReadAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>Removes a blob; true when it existed.</summary>
    Task<bool> DeleteAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>Creates empty storage for a new upload.</summary>
    Task StartUploadAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="source"/> into the upload at <paramref name="offset"/>, discarding anything
    /// stored past that offset (the remains of an unacknowledged chunk). If the copy fails the upload is
    /// cut back to <paramref name="offset"/>, so a failed chunk leaves no trace. Returns the new length.
    /// Throws <see cref="UploadBusyException"/> while another write to the same upload is in progress.
    /// </summary>
    Task<long> WriteUploadAsync(string uploadId, long offset, Stream source, CancellationToken cancellationToken);

    /// <summary>Opens the first <paramref name="length"/> bytes of an upload, to re-hash them when no hash state is at hand.</summary>
    Task<Stream> OpenUploadReadAsync(string uploadId, long length, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the first <paramref name="length"/> bytes of an upload the blob <paramref name="digest"/>,
    /// durably and atomically, and removes the upload. A blob already stored under that digest is success.
    /// </summary>
    Task CommitUploadAsync(string uploadId, long length, Digest digest, CancellationToken cancellationToken);

    /// <summary>Discards an upload's storage; missing storage is not an error.</summary>
    Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken);
}
