using Amazon.Runtime;

namespace Registry.Hosting;

/// <summary>Reaches the blob store before the server takes requests, so a wrong endpoint, bucket or credential fails the start with a message naming it.</summary>
internal sealed class BlobStoreStartupCheck(string description, Func<CancellationToken, Task> check) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await check(cancellationToken);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            throw new StartupException($"cannot use the blob store ({description}): {e.Message}", e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
