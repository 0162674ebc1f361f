using Microsoft.EntityFrameworkCore;
using Registry.Accounting;
using Registry.Data;
using Registry.Scheduler.Tasks;

namespace Registry.Observability;

/// <summary>
/// The gauges read from the metadata (storage per repository, ECS tasks and services by state), refreshed
/// when Prometheus scrapes, at most every <see cref="MaxAge"/>: scrapes from several Prometheus servers
/// cost one set of queries. A failed refresh keeps the last values.
/// </summary>
internal sealed partial class StateGauges(IServiceScopeFactory scopes, IDbContextFactory<RegistryDbContext> dbFactory, RegistryMetrics metrics, TimeProvider clock, ILogger<StateGauges> logger) : IDisposable
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(15);

    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private HashSet<string> _repositories = [];
    private HashSet<(string, string)> _tasks = [];
    private HashSet<string> _services = [];
    private DateTimeOffset _refreshed = DateTimeOffset.MinValue;

    public void Dispose() => _refreshing.Dispose();

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshing.WaitAsync(cancellationToken);
        try
        {
            if (clock.GetUtcNow() - _refreshed < MaxAge)
            {
                return;
            }

            await RefreshStorageAsync(cancellationToken);
            await RefreshSchedulerAsync(cancellationToken);
            _refreshed = clock.GetUtcNow();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.RefreshFailed(logger, e);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private async Task RefreshStorageAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var usage = scope.ServiceProvider.GetRequiredService<StorageUsage>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? last = null;
        while (true)
        {
            var page = await usage.ListAsync(last, 1000, cancellationToken);
            foreach (var repository in page)
            {
                metrics.RepositoryStorage.WithLabels(repository.Name).Set(repository.BlobBytes + repository.ManifestBytes);
                seen.Add(repository.Name);
            }

            if (page.Count < 1000)
            {
                break;
            }

            last = page[^1].Name;
        }

        foreach (var gone in _repositories.Except(seen))
        {
            metrics.RepositoryStorage.RemoveLabelled(gone);
        }

        _repositories = seen;
    }

    private async Task RefreshSchedulerAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var tasks = await db.Tasks.AsNoTracking().Where(t => t.LastStatus != TaskStatuses.Stopped)
            .GroupBy(t => new { t.LaunchType, t.LastStatus }).Select(g => new { g.Key.LaunchType, g.Key.LastStatus, Count = g.Count() })
            .ToListAsync(cancellationToken);
        var seenTasks = tasks.Select(t => (t.LaunchType, t.LastStatus)).ToHashSet();
        foreach (var t in tasks)
        {
            metrics.Tasks.WithLabels(t.LaunchType, t.LastStatus).Set(t.Count);
        }

        foreach (var (launchType, status) in _tasks.Except(seenTasks))
        {
            metrics.Tasks.WithLabels(launchType, status).Set(0);
        }

        _tasks = seenTasks;
        var services = await db.Services.AsNoTracking().GroupBy(s => s.Status).Select(g => new { Status = g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
        foreach (var s in services)
        {
            metrics.Services.WithLabels(s.Status).Set(s.Count);
        }

        foreach (var gone in _services.Except(services.Select(s => s.Status)))
        {
            metrics.Services.WithLabels(gone).Set(0);
        }

        _services = services.Select(s => s.Status).ToHashSet(StringComparer.Ordinal);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Refreshing the metadata gauges failed; /metrics shows the last values")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);
    }
}
