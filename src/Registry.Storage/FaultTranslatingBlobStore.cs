using System.Runtime.ExceptionServices;
using Registry.Core.Content;

namespace Registry.Storage;

/// <summary>
/// Turns a remote store's failures to reach its backend (network errors, 5xx, timeouts; which ones
/// the store says) into <see cref="BlobStoreUnavailableException"/>, which the API answers with 503
/// and which leaves an upload where it was, to be resumed once the backend is back.
/// </summary>
public sealed class FaultTranslatingBlobStore(IBlobStore inner, string description, Func<Exception, bool> isUnavailable) : IBlobStore
{
    public Task<long?> GetLengthAsync(Digest digest, CancellationToken cancellationToken) => Call(() => inner.GetLengthAsync(digest, cancellationToken));

    public async Task<Stream?> OpenReadAsync(Digest digest, CancellationToken cancellationToken) =>
        await Call(() => inner.OpenReadAsync(digest, cancellationToken)) is { } stream ? new TranslatingReadStream(stream, this) : null;

    public Task<Uri?> GetDownloadUrlAsync(Digest digest, CancellationToken cancellationToken) => Call(() => inner.GetDownloadUrlAsync(digest, cancellationToken));

    public Task<bool> DeleteAsync(Digest digest, CancellationToken cancellationToken) => Call(() => inner.DeleteAsync(digest, cancellationToken));

    public Task StartUploadAsync(string uploadId, CancellationToken cancellationToken) => Call(async () =>
    {
        await inner.StartUploadAsync(uploadId, cancellationToken);
        return true;
    });

    public Task<UploadProgress> WriteUploadAsync(string uploadId, UploadProgress current, Stream source, CancellationToken cancellationToken) =>
        Call(() => inner.WriteUploadAsync(uploadId, current, new ClientBody(source), cancellationToken));

    public Task<Stream> OpenUploadReadAsync(string uploadId, UploadProgress current, CancellationToken cancellationToken) =>
        Call(() => inner.OpenUploadReadAsync(uploadId, current, cancellationToken));

    public Task CommitUploadAsync(string uploadId, UploadProgress current, Digest digest, CancellationToken cancellationToken) => Call(async () =>
    {
        await inner.CommitUploadAsync(uploadId, current, digest, cancellationToken);
        return true;
    });

    public Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken) => Call(async () =>
    {
        await inner.DeleteUploadAsync(uploadId, cancellationToken);
        return true;
    });

    private async Task<T> Call<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (ClientBodyException e)
        {
            // The client's side failed (a dropped connection mid-upload), not the backend: passed on as it was.
            ExceptionDispatchInfo.Throw(e.InnerException!);
            throw;
        }
        catch (Exception e) when (Translates(e))
        {
            throw Unavailable(e);
        }
    }

    private bool Translates(Exception e) =>
        e is not BlobUnreadableException and not BlobStoreUnavailableException and not OperationCanceledException and not ClientBodyException && isUnavailable(e);

    private BlobStoreUnavailableException Unavailable(Exception e) => new($"{description} is unavailable: {e.Message}", e);

    /// <summary>Marks failures to read the request body, so that a socket error there is never taken for the backend's.</summary>
    private sealed class ClientBodyException(Exception inner) : IOException(inner.Message, inner);

    private sealed class ClientBody(Stream source) : ReadOnlyStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await source.ReadAsync(buffer, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new ClientBodyException(e);
            }
        }
    }

    /// <summary>A blob being read: the backend failing mid-read is reported the same way as failing to open.</summary>
    private sealed class TranslatingReadStream(Stream inner, FaultTranslatingBlobStore store) : SeekableReadStream
    {
        public override bool CanSeek => inner.CanSeek;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken);
            }
            catch (Exception e) when (store.Translates(e))
            {
                throw store.Unavailable(e);
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
