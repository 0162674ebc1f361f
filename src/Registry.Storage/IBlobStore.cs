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

    /// <summary>
    /// A short-lived URL from which a client may download the blob directly from the backend, or null when
    /// the store does not offer one (or is not configured to). Pulls are then redirected there.
    /// </summary>
    Task<Uri?> GetDownloadUrlAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>Removes a blob; true when it existed.</summary>
    Task<bool> DeleteAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>Creates empty storage for a new upload.</summary>
    Task StartUploadAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>
    /// Appends <paramref name="source"/> to the upload after the bytes <paramref name="current"/> describes,
    /// disregarding anything stored past them (the remains of an unacknowledged chunk). Returns the new
    /// progress; until the caller persists it, the upload is still <paramref name="current"/>, so a failed
    /// write leaves no trace. Throws <see cref="UploadBusyException"/> where the store can tell that another
    /// write to the same upload is in progress.
    /// </summary>
    Task<UploadProgress> WriteUploadAsync(string uploadId, UploadProgress current, Stream source, CancellationToken cancellationToken);

    /// <summary>Opens the bytes <paramref name="current"/> describes, to re-hash them when no hash state is at hand.</summary>
    Task<Stream> OpenUploadReadAsync(string uploadId, UploadProgress current, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the bytes <paramref name="current"/> describes the blob <paramref name="digest"/>, durably and
    /// atomically, and removes the upload. A blob already stored under that digest is success.
    /// </summary>
    Task CommitUploadAsync(string uploadId, UploadProgress current, Digest digest, CancellationToken cancellationToken);

    /// <summary>Discards an upload's storage; missing storage is not an error.</summary>
    Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken);
}
