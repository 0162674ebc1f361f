using Azure.Storage.Blobs;
using Registry.Storage.AzureBlob;

namespace Registry.Tests.Support;

/// <summary>
/// The Azure Blob service named by <c>REGISTRY_TEST_AZURE_CONNECTION_STRING</c> (Azurite, started by
/// <c>scripts/test.sh</c>); tests get containers of their own. Without it, tests that need it are skipped.
/// </summary>
public static class AzureTestServer
{
    public static readonly string? ConnectionString = Environment.GetEnvironmentVariable("REGISTRY_TEST_AZURE_CONNECTION_STRING");

    public static bool Available => !string.IsNullOrEmpty(ConnectionString);

    public static void SkipUnlessAvailable() =>
        Skip.IfNot(Available, "REGISTRY_TEST_AZURE_CONNECTION_STRING is not set (scripts/test.sh starts Azurite)");

    public static AzureBlobStoreOptions Options(string container) => new()
    {
        ConnectionString = ConnectionString!,
        Container = container,
        CreateContainer = true,
        BlockSize = 4 * 1024 * 1024,
    };

    public static string NewContainerName() => "registry-test-" + Guid.NewGuid().ToString("N")[..20];

    public static async Task<int> CountBlobsAsync(string container, string prefix)
    {
        var count = 0;
        await foreach (var _ in new BlobContainerClient(ConnectionString, container).GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, default))
        {
            count++;
        }

        return count;
    }

    public static Task DeleteContainerAsync(string container) =>
        new BlobContainerClient(ConnectionString, container).DeleteIfExistsAsync();
}
