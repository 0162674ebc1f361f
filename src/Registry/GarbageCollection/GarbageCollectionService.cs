using Microsoft.Extensions.Options;
using Registry.Hosting;
using Registry.Accounting;

namespace Registry.GarbageCollection;

/// <summary>
/// Runs garbage collection every <see cref="GarbageCollectionOptions.Interval"/> while the registry
/// serves, and logs what each run removed and the storage used afterwards. Replicas may all run it:
/// every deletion is checked under a row lock, so two collectors never delete what is in use.
/// </summary>
internal sealed partial class GarbageCollectionService(
    GarbageCollector collector,
    IServiceScopeFactory scopes,
    IOptions<GarbageCollectionOptions> options,
    TimeProvider clock,
    ILogger<GarbageCollectionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        while (await PeriodicTicks.NextAsync(timer, stoppingToken))
        {
            try
            {
                var started = clock.GetTimestamp();
                var report = await collector.RunAsync(dryRun: false, stoppingToken);
                await using var scope = scopes.CreateAsyncScope();
                var usage = await scope.ServiceProvider.GetRequiredService<StorageUsage>().TotalAsync(stoppingToken);
                Log.Collected(
                    logger,
                    report.Manifests.Count,
                    report.Blobs.Count,
                    report.BlobBytes,
                    report.Links.Count,
                    (long)clock.GetElapsedTime(started).TotalMilliseconds,
                    usage.TotalBytes,
                    usage.BlobCount,
                    usage.ManifestCount,
                    usage.RepositoryCount);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.Failed(logger, e);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1201, Level = LogLevel.Information,
            Message = "Garbage collection removed {Manifests} manifests, {Blobs} blobs ({FreedBytes} bytes) and {Links} stale links in {ElapsedMs} ms; storage used: {TotalBytes} bytes in {BlobCount} blobs and {ManifestCount} manifests across {RepositoryCount} repositories")]
        public static partial void Collected(ILogger logger, int manifests, int blobs, long freedBytes, int links, long elapsedMs, long totalBytes, long blobCount, long manifestCount, long repositoryCount);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Garbage collection failed; the next run retries")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
