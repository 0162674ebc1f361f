using Microsoft.EntityFrameworkCore;
using Registry.Data;
using Registry.Scheduler.Services;
using Registry.Scheduler;

namespace Registry.Ecs;

/// <summary>
/// The service scheduler: every <see cref="Interval"/>, and at once when a service or one of its tasks
/// changes, it brings each live service a step closer to what it should be (see
/// <see cref="EcsService.ReconcileServiceAsync"/>). Each step runs in a transaction holding the
/// cluster's row, so replicas of the control plane take turns instead of placing twice.
/// </summary>
internal sealed partial class ServiceScheduler(
    EcsService ecs,
    IDbContextFactory<RegistryDbContext> dbFactory,
    IRowLocks locks,
    ICommitDurability durability,
    AgentSignals agents,
    TimeProvider clock,
    ILogger<ServiceScheduler> logger,
    IEnumerable<ITaskLauncher> launchers) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly WakeSignal _wake = new();

    /// <summary>Asks for a pass now (a service was created, updated or deleted, or a task changed).</summary>
    public void Wake() => _wake.Set();

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PassAsync(stoppingToken);
                await _wake.WaitAsync(Interval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.Failed(logger, e);
                await Task.Delay(Interval, clock, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>One step for every service that is not INACTIVE.</summary>
    public async Task PassAsync(CancellationToken cancellationToken)
    {
        List<long> services;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            services = await db.Services.AsNoTracking().Where(s => s.Status != ServiceStatuses.Inactive).Select(s => s.Id).ToListAsync(cancellationToken);
        }

        foreach (var id in services)
        {
            try
            {
                await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
                var step = await ecs.ReconcileServiceAsync(db, locks, id, cancellationToken);
                await durability.EnsureDurableAsync(CancellationToken.None);
                agents.Wake(step.Agents);
                if (step.Kubernetes)
                {
                    foreach (var launcher in launchers)
                    {
                        launcher.Wake();
                    }
                }
            }
            catch (DbUpdateConcurrencyException)
            {
                // Changed by an API call meanwhile: the next pass starts from the new state.
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // One service failing must not hold up the others.
                Log.ServiceFailed(logger, id, e);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "A service scheduler pass failed; the next pass retries")]
        public static partial void Failed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Scheduling service {ServiceId} failed; the next pass retries")]
        public static partial void ServiceFailed(ILogger logger, long serviceId, Exception exception);
    }
}
