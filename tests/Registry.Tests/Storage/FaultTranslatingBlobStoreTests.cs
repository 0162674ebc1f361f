using Registry.Core.Content;
using Registry.Storage;
using Registry.Storage.FileSystem;

namespace Registry.Tests.Storage;

/// <summary>
/// Backend failures (as the store's predicate names them) become <see cref="BlobStoreUnavailableException"/>,
/// also mid-read; other failures pass unchanged. The end-to-end version, with real S3 cut by a proxy,
/// is in BackendFaultTests.
/// </summary>
public sealed class FaultTranslatingBlobStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "fault-translation-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_backend_failure_mid_read_is_reported_as_unavailable()
    {
        var (store, digest) = await StoreWithBlobAsync(e => e is HttpRequestException);
        await using var blob = (await store.OpenReadAsync(digest, default))!;
        var failing = new FailingReadStore.Failure(new HttpRequestException("connection reset"));
        FailingReadStore.Next = failing;

        var error = await Assert.ThrowsAsync<BlobStoreUnavailableException>(async () => await blob.ReadExactlyAsync(new byte[10]));

        Assert.Same(failing.Exception, error.InnerException);
        Assert.Contains("test store is unavailable", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_failures_are_not_translated()
    {
        var (store, digest) = await StoreWithBlobAsync(e => e is HttpRequestException);
        await using var blob = (await store.OpenReadAsync(digest, default))!;
        FailingReadStore.Next = new FailingReadStore.Failure(new InvalidDataException("bug"));

        await Assert.ThrowsAsync<InvalidDataException>(async () => await blob.ReadExactlyAsync(new byte[10]));
    }

    [Fact]
    public async Task A_client_dropping_its_upload_is_not_taken_for_the_backend_failing()
    {
        var (store, _) = await StoreWithBlobAsync(e => e is IOException { InnerException: System.Net.Sockets.SocketException });
        await store.StartUploadAsync("u2", default);
        var dropped = new IOException("connection reset by the client", new System.Net.Sockets.SocketException(104));

        var error = await Assert.ThrowsAsync<IOException>(() => store.WriteUploadAsync("u2", UploadProgress.Empty, new DroppingBody(dropped), default));

        Assert.Same(dropped, error);
    }

    public void Dispose()
    {
        FailingReadStore.Next = null;
        Directory.Delete(_root, recursive: true);
    }

    private async Task<(IBlobStore Store, Digest Digest)> StoreWithBlobAsync(Func<Exception, bool> isUnavailable)
    {
        var files = new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootPath = _root });
        var content = new byte[100];
        var digest = Digest.Compute(content);
        await files.StartUploadAsync("u1", default);
        var progress = await files.WriteUploadAsync("u1", UploadProgress.Empty, new MemoryStream(content), default);
        await files.CommitUploadAsync("u1", progress, digest, default);
        return (new FaultTranslatingBlobStore(new FailingReadStore(files), "test store", isUnavailable), digest);
    }

    /// <summary>A request body whose client goes away.</summary>
    private sealed class DroppingBody(Exception failure) : ReadOnlyStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => throw failure;
    }

    /// <summary>A fake at the backend seam: its blob streams throw the failure set in <see cref="Next"/>.</summary>
    private sealed class FailingReadStore(IBlobStore inner) : IBlobStore
    {
        public static Failure? Next { get; set; }

        public Task<long?> GetLengthAsync(Digest digest, CancellationToken cancellationToken) => inner.GetLengthAsync(digest, cancellationToken);

        public async Task<Stream?> OpenReadAsync(Digest digest, CancellationToken cancellationToken) =>
            await inner.OpenReadAsync(digest, cancellationToken) is { } stream ? new Throwing(stream) : null;

        public Task<Uri?> GetDownloadUrlAsync(Digest digest, CancellationToken cancellationToken) => inner.GetDownloadUrlAsync(digest, cancellationToken);

        public Task<bool> DeleteAsync(Digest digest, CancellationToken cancellationToken) => inner.DeleteAsync(digest, cancellationToken);

        public Task StartUploadAsync(string uploadId, CancellationToken cancellationToken) => inner.StartUploadAsync(uploadId, cancellationToken);

        public Task<UploadProgress> WriteUploadAsync(string uploadId, UploadProgress current, Stream source, CancellationToken cancellationToken) => inner.WriteUploadAsync(uploadId, current, source, cancellationToken);

        public Task<Stream> OpenUploadReadAsync(string uploadId, UploadProgress current, CancellationToken cancellationToken) => inner.OpenUploadReadAsync(uploadId, current, cancellationToken);

        public Task CommitUploadAsync(string uploadId, UploadProgress current, Digest digest, CancellationToken cancellationToken) => inner.CommitUploadAsync(uploadId, current, digest, cancellationToken);

        public Task DeleteUploadAsync(string uploadId, CancellationToken cancellationToken) => inner.DeleteUploadAsync(uploadId, cancellationToken);

        public sealed record Failure(Exception Exception);

        private sealed class Throwing(Stream inner) : ReadOnlyStream
        {
            public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
                Next is { } failure ? throw failure.Exception : inner.ReadAsync(buffer, cancellationToken);

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
}
