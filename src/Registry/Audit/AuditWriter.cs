using Microsoft.EntityFrameworkCore;
using Registry.Data;
using Registry.Data.Entities;

namespace Registry.Audit;

/// <summary>Stores queued audit events in batches at most twice a second; on a database error it waits and tries the same batch again.</summary>
internal sealed partial class AuditWriter(AuditLog log, IDbContextFactory<RegistryDbContext> dbFactory, ICommitDurability durability, IWriteGate writes, ILogger<AuditWriter> logger) : BackgroundService
{
    private const int BatchSize = 2000;

    private static readonly TimeSpan Gather = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AuditEventEntity>(BatchSize);
        try
        {
            while (await log.Reader.WaitToReadAsync(stoppingToken))
            {
                // Let a busy second's events gather: one transaction and one flush for many rows, instead
                // of one for every few (that cost pushes a tenth of their server CPU).
                await Task.Delay(Gather, stoppingToken);
                while (batch.Count < BatchSize && log.Reader.TryRead(out var entry))
                {
                    batch.Add(entry);
                }

                if (!await StoreAsync(batch, stoppingToken))
                {
                    return;
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: what is queued now is written below.
        }

        while (log.Reader.TryRead(out var entry))
        {
            batch.Add(entry);
        }

        if (batch.Count > 0)
        {
            await StoreAsync(batch, CancellationToken.None);
        }
    }

    /// <summary>
    /// Writes the batch, retrying every 2 s while the database is unavailable (never past shutdown); false
    /// when the host's services are already disposed (a host torn down without stopping), so nothing can be.
    /// </summary>
    private async Task<bool> StoreAsync(List<AuditEventEntity> batch, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
                db.AuditEvents.AddRange(batch);
                await writes.RunAsync(() => db.SaveChangesAsync(CancellationToken.None), CancellationToken.None);
                await durability.EnsureDurableAsync(CancellationToken.None);
                return true;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
            catch (Exception e) when (e is System.Data.Common.DbException or DbUpdateException or InvalidOperationException)
            {
                Log.WriteFailed(logger, batch.Count, e);
                foreach (var entry in batch)
                {
                    entry.Id = 0;
                }

                if (stoppingToken.IsCancellationRequested)
                {
                    return true;
                }

                await Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Storing {Count} audit events failed; retrying")]
        public static partial void WriteFailed(ILogger logger, int count, Exception exception);
    }
}
