using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Data;
using Registry.Hosting;
using Registry.Storage;

namespace Registry.Distribution;

/// <summary>
/// Abandoned uploads (a client that started and never finished) would otherwise keep their bytes and
/// session rows forever. Sessions idle longer than <see cref="RegistryOptions.UploadSessionLifetime"/>
/// are removed: the session row first, then its bytes.
/// </summary>
internal sealed partial class UploadJanitor(
    IDbContextFactory<RegistryDbContext> dbFactory,
    IBlobStore store,
    UploadHashCache hashes,
    IOptions<RegistryOptions> options,
    TimeProvider clock,
    ILogger<UploadJanitor> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(15);

    /// <summary>Removes sessions last touched before <paramref name="cutoff"/>; returns how many.</summary>
    public async Task<int> PurgeIdleSinceAsync(DateTime cutoff, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var stale = await db.UploadSessions.Where(u => u.UpdatedAt < cutoff).Select(u => u.Id).ToListAsync(cancellationToken);
        var purged = 0;
        foreach (var id in stale)
        {
            // The row goes first and only if still idle: a client that resumed the upload meanwhile keeps
            // both row and bytes. A crash after this line leaves only an orphan file, never a row without bytes.
            if (await db.UploadSessions.Where(u => u.Id == id && u.UpdatedAt < cutoff).ExecuteDeleteAsync(cancellationToken) == 0)
            {
                continue;
            }

            hashes.Forget(id);
            await store.DeleteUploadAsync(id, cancellationToken);
            purged++;
        }

        return purged;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        while (await PeriodicTicks.NextAsync(timer, stoppingToken))
        {
            try
            {
                var purged = await PurgeIdleSinceAsync(clock.GetUtcNow().UtcDateTime - options.Value.UploadSessionLifetime, stoppingToken);
                if (purged > 0)
                {
                    Log.Purged(logger, purged);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.Failed(logger, e);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Removed {Count} abandoned upload sessions")]
        public static partial void Purged(ILogger logger, int count);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Removing abandoned upload sessions failed; will retry")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
