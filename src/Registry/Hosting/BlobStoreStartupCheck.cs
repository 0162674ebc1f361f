namespace Registry.Hosting;

/// <summary>Reaches the blob store before the server takes requests, so a wrong endpoint, bucket, container or credential fails the start with a message naming it.</summary>
internal sealed class BlobStoreStartupCheck(string description, Func<CancellationToken, Task> check) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await check(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new StartupException($"cannot use the blob store ({description}): {e.Message}", e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
