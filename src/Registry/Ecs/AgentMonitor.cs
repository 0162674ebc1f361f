using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Data;
using Registry.Hosting;
using Registry.Scheduler.Tasks;

namespace Registry.Ecs;

/// <summary>
/// Marks agents that stopped polling as disconnected and reports their tasks lost (STOPPED, with the
/// reason), so their resources go back to placement and users see what happened. An agent that comes
/// back is connected again by its next poll and told to stop what was reported lost.
/// </summary>
internal sealed partial class AgentMonitor(
    IDbContextFactory<RegistryDbContext> dbFactory,
    ICommitDurability durability,
    IOptions<SchedulerOptions> options,
    TimeProvider clock,
    ILogger<AgentMonitor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.AgentTimeout / 4, clock);
        while (await PeriodicTicks.NextAsync(timer, stoppingToken))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.Failed(logger, e);
            }
        }
    }

    /// <summary>One pass: disconnects every agent silent for longer than the timeout.</summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var silentSince = now - options.Value.AgentTimeout;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var silent = await db.ContainerInstances.Where(i => i.AgentConnected && i.LastHeartbeatAt < silentSince).ToListAsync(cancellationToken);
        if (silent.Count == 0)
        {
            return;
        }

        var ids = silent.Select(i => i.Id).ToList();
        var tasks = await db.Tasks.Where(t => t.ContainerInstanceId != null && ids.Contains(t.ContainerInstanceId.Value) && t.LastStatus != TaskStatuses.Stopped).ToListAsync(cancellationToken);
        foreach (var instance in silent)
        {
            instance.AgentConnected = false;
            instance.Version++;
            Log.Disconnected(logger, instance.InstanceId, instance.LastHeartbeatAt);
            foreach (var task in tasks.Where(t => t.ContainerInstanceId == instance.Id))
            {
                TaskLifecycle.MarkLost(task, $"Task lost: the agent on container instance {instance.InstanceId} sent no heartbeat since {instance.LastHeartbeatAt:O}", now);
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        await durability.EnsureDurableAsync(cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Agent of container instance {InstanceId} disconnected: no heartbeat since {LastHeartbeat:O}; its tasks are reported lost")]
        public static partial void Disconnected(ILogger logger, string instanceId, DateTime lastHeartbeat);

        [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Checking agent heartbeats failed; the next pass retries")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
