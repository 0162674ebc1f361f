using Registry.Storage;
using Registry.Storage.AzureBlob;
using Registry.Tests.Support;

namespace Registry.Tests.Storage;

/// <summary>The blob store contract on Azure Blob Storage (Azurite), in a container of its own.</summary>
public sealed class AzureBlobStoreTests : BlobStoreContractTests, IAsyncLifetime
{
    private readonly string _container = AzureTestServer.NewContainerName();
    private IBlobStore? _store;

    public AzureBlobStoreTests() => AzureTestServer.SkipUnlessAvailable();

    protected override IBlobStore Store => _store!;

    public async Task InitializeAsync()
    {
        if (!AzureTestServer.Available)
        {
            return;
        }

        var store = new AzureBlobStore(AzureTestServer.Options(_container));
        await store.EnsureContainerAsync(create: true, default);
        _store = store;
    }

    [SkippableFact]
    public async Task A_committed_upload_leaves_no_upload_blob()
    {
        var id = Guid.NewGuid().ToString();
        var content = RandomBytes(5 * 1024 * 1024);
        await Store.StartUploadAsync(id, default);
        var progress = await Store.WriteUploadAsync(id, UploadProgress.Empty, new MemoryStream(content), default);

        await Store.CommitUploadAsync(id, progress, Registry.Core.Content.Digest.Compute(content), default);

        Assert.Equal(0, await AzureTestServer.CountBlobsAsync(_container, $"uploads/{id}"));
    }

    public async Task DisposeAsync()
    {
        if (AzureTestServer.Available)
        {
            await AzureTestServer.DeleteContainerAsync(_container);
        }
    }
}
