using Registry.Storage;
using Registry.Storage.S3;
using Registry.Tests.Support;

namespace Registry.Tests.Storage;

/// <summary>The blob store contract on a real S3 server (Ceph RGW), in a bucket of its own.</summary>
public sealed class S3BlobStoreTests : BlobStoreContractTests, IAsyncLifetime
{
    private readonly string _bucket = S3TestServer.NewBucketName();
    private IBlobStore? _store;

    public S3BlobStoreTests() => S3TestServer.SkipUnlessAvailable();

    protected override IBlobStore Store => _store!;

    public async Task InitializeAsync()
    {
        if (!S3TestServer.Available)
        {
            return;
        }

        var store = new S3BlobStore(S3TestServer.Options(_bucket));
        await store.EnsureBucketAsync(create: true, default);
        _store = store;
    }

    [SkippableFact]
    public async Task Pieces_left_by_a_failed_write_go_with_the_upload()
    {
        var id = Guid.NewGuid().ToString();
        await Store.StartUploadAsync(id, default);
        var acknowledged = await Store.WriteUploadAsync(id, UploadProgress.Empty, new MemoryStream(RandomBytes(100)), default);
        await Assert.ThrowsAnyAsync<IOException>(() => Store.WriteUploadAsync(id, acknowledged, new FailingStream(17 * 1024 * 1024), default));

        Assert.NotEqual(0, await S3TestServer.CountObjectsAsync(_bucket, $"uploads/{id}/"));

        await Store.DeleteUploadAsync(id, default);

        Assert.Equal(0, await S3TestServer.CountObjectsAsync(_bucket, $"uploads/{id}/"));
    }

    public async Task DisposeAsync()
    {
        if (_store is IDisposable disposable)
        {
            disposable.Dispose();
            await S3TestServer.DeleteBucketAsync(_bucket);
        }
    }
}
