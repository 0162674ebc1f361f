using System.Diagnostics;
using Registry.Core.Content;
using Registry.Storage;

namespace Registry.Observability;

/// <summary>
/// Times every blob store call and counts the ones that fail (<see cref="RegistryMetrics.BlobStoreDuration"/>,
/// <see cref="RegistryMetrics.BlobStoreErrors"/>), labelled with the backend. A read is timed to its open;
/// an upload write to its end, so it includes the client's own pace. A cancelled call is not a failure.
/// </summary>
internal sealed class InstrumentedBlobStore(IBlobStore inner, string backend, RegistryMetrics metrics) : IBlobStore
{
    public Task<long?> GetLengthAsync(Digest digest, CancellationToken cancellationToken) => Timed("get_length", () => inner.GetLengthAsync(digest, cancellationToken), cancellationToken);

    public Task<Stream?> OpenReadAsync(Digest digest, CancellationToken cancellationToken) => Timed("open_read", () => inner.OpenReadAsync(digest, cancellationToken), cancellationToken);

    public Task<Uri?> GetDownloadUrlAsync(Digest digest, CancellationToken cancellationToken) => Timed("download_url", () => inner.GetDownloadUrlAsync(digest, cancellationToken), cancellationToken);

    public Task<bool> DeleteAsync(Digest digest, CancellationToken cancellationToken) => Timed("delete", () => inner.DeleteAsync(digest, cancellationToken), cancellationToken);

    public Task StartUploadAsync(string uploadId, CancellationToken cancellationToken) => Timed("start_upload", () => inner.StartUploadAsync(uploadId, cancellationToken), cancellationToken);

    public Task<UploadProgress> WriteUploadAsync(string uploadId, UploadProgress current, Stream source, CancellationToken cancellationToken) =>
        Timed("write_upload", () => inner.WriteUploadAsync(uploadId, current, source, cancellationToken), cancellationToken);

    public Task<Stream> OpenUploadReadAsync(string uploadId, UploadProgress current, CancellationToken cancellationToken) =>
        Timed("open_upload", () => inner.OpenUploadReadAsync(uploadId, current, cancellationToken), cancellationToken);

    public Task CommitUploadAsync(string uploadId, UploadProgress current, Digest digest, CancellationToken cancellationToken) =>
        Timed("commit_upload", () => inner.CommitUploadAsync(uploadId, current, digest, cancellationToken), cancellationToken);

    public Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken) => Timed("delete_upload", () => inner.DeleteUploadAsync(uploadId, cancellationToken), cancellationToken);

    private async Task<T> Timed<T>(string operation, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await call();
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.BlobStoreErrors.WithLabels(backend, operation).Inc();
            throw;
        }
        finally
        {
            metrics.BlobStoreDuration.WithLabels(backend, operation).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private Task<bool> Timed(string operation, Func<Task> call, CancellationToken cancellationToken) => Timed(operation, async () =>
    {
        await call();
        return true;
    }, cancellationToken);
}
