using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Registry.Data;
using Registry.Scheduler.Services;
using Registry.Scheduler.Tasks;

namespace Registry.LoadBalancing;

/// <summary>
/// Keeps the <see cref="TargetTable"/> in step with the database every <see cref="Interval"/>: a
/// load-balanced service's task is registered in its target groups while it is RUNNING and meant to
/// run, and deregistered as soon as it is not (stopping, or draining before it stops). Each target is
/// health-checked on its group's interval, and each task's worst target health is written back to the
/// task, where the service scheduler reads it.
/// </summary>
public sealed partial class TargetWatcher(
    TargetGroups groups,
    TargetTable table,
    IDbContextFactory<RegistryDbContext> dbFactory,
    ILogger<TargetWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly Dictionary<TargetKey, (Target Target, CancellationTokenSource Checks)> _targets = [];
    private readonly Dictionary<string, string> _writtenHealth = new(StringComparer.Ordinal);
    private readonly HttpClient _checks = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false, ConnectTimeout = TimeSpan.FromSeconds(5) });

    public override void Dispose()
    {
        foreach (var (_, checks) in _targets.Values)
        {
            checks.Cancel();
            checks.Dispose();
        }

        _checks.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (groups.ByName.Count == 0)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.RefreshFailed(logger, e);
            }

            await Task.Delay(Interval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Registers new targets, deregisters gone ones and records changed health on the tasks.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var (wanted, stored) = await WantedTargetsAsync(db, cancellationToken);
        foreach (var key in _targets.Keys.Where(k => !wanted.Contains(k)).ToList())
        {
            var (target, checks) = _targets[key];
            await checks.CancelAsync();
            checks.Dispose();
            _targets.Remove(key);
            Log.Deregistered(logger, target.TaskId, target.Prefix, target.Group.Name);
        }

        foreach (var key in wanted.Where(k => !_targets.ContainsKey(k)))
        {
            if (Uri.CheckHostName(key.Address) is not (UriHostNameType.IPv4 or UriHostNameType.IPv6 or UriHostNameType.Dns))
            {
                Log.BadAddress(logger, key.TaskId, key.Address, key.Group);
                continue;
            }

            // A task already found healthy (before a restart, or by another replica) keeps serving while
            // this balancer checks it again, so a restart does not look like every target failing at once.
            var healthy = stored.GetValueOrDefault(key.TaskId) == TargetHealthTracker.Describe(TargetHealthState.Healthy);
            var target = new Target(groups.ByName[key.Group], key.TaskId, key.Address, key.Port, healthy ? TargetHealthState.Healthy : TargetHealthState.Initial);
            if (healthy)
            {
                _writtenHealth.TryAdd(key.TaskId, stored[key.TaskId]!);
            }

            var checks = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _targets[key] = (target, checks);
            _ = CheckAsync(target, checks.Token);
            Log.Registered(logger, target.TaskId, target.Prefix, target.Group.Name);
        }

        table.Replace(_targets.Values.Select(t => t.Target).GroupBy(t => t.Group.Name)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<Target>)[.. g], StringComparer.Ordinal));
        await WriteHealthAsync(db, cancellationToken);
    }

    /// <summary>The targets the load-balanced services' tasks should be, and the health last stored for each task.</summary>
    private async Task<(HashSet<TargetKey> Wanted, Dictionary<string, string?> Stored)> WantedTargetsAsync(RegistryDbContext db, CancellationToken cancellationToken)
    {
        var services = (await db.Services.AsNoTracking().Where(s => s.Status != ServiceStatuses.Inactive && s.LoadBalancers != "[]")
                .Select(s => new { s.ClusterId, s.Name, s.LoadBalancers }).ToListAsync(cancellationToken))
            .Select(s => (s.ClusterId, Group: ServiceStatuses.Group(s.Name), LoadBalancers: ServiceLoadBalancer.ReadAll(s.LoadBalancers).Where(lb => groups.ByName.ContainsKey(lb.TargetGroup)).ToList()))
            .ToList();
        if (services.Count == 0)
        {
            return ([], []);
        }

        var taskGroups = services.Select(s => s.Group).Distinct().ToList();
        var tasks = await db.Tasks.AsNoTracking()
            .Where(t => taskGroups.Contains(t.Group) && t.LastStatus == TaskStatuses.Running && t.DesiredStatus == TaskStatuses.Running && t.ContainerInstanceId != null)
            .Select(t => new { t.TaskId, t.ClusterId, t.Group, t.Containers, t.TargetHealth, InstanceId = t.ContainerInstanceId!.Value })
            .ToListAsync(cancellationToken);
        var instanceIds = tasks.Select(t => t.InstanceId).Distinct().ToList();
        var addresses = await db.ContainerInstances.AsNoTracking().Where(i => instanceIds.Contains(i.Id)).ToDictionaryAsync(i => i.Id, i => i.Address, cancellationToken);

        var wanted = new HashSet<TargetKey>();
        foreach (var task in tasks)
        {
            var containers = TaskContainer.ReadAll(task.Containers);
            foreach (var lb in services.Where(s => s.ClusterId == task.ClusterId && s.Group == task.Group).SelectMany(s => s.LoadBalancers))
            {
                var container = containers.Find(c => c.Name == lb.ContainerName);
                var binding = container?.NetworkBindings.Find(b => b.ContainerPort == lb.ContainerPort && b.Protocol == "tcp");
                var address = binding is not null && binding.BindIP is not ("0.0.0.0" or "::" or "") ? binding.BindIP : addresses.GetValueOrDefault(task.InstanceId);
                if (container is not null && address is { Length: > 0 })
                {
                    // Without a binding the container shares the host's network (networkMode host): its port is the host's.
                    wanted.Add(new TargetKey(lb.TargetGroup, task.TaskId, address, binding?.HostPort ?? lb.ContainerPort));
                }
            }
        }

        return (wanted, tasks.ToDictionary(t => t.TaskId, t => t.TargetHealth, StringComparer.Ordinal));
    }

    /// <summary>Each task's worst target health, written when it differs from what this balancer last wrote.</summary>
    private async Task WriteHealthAsync(RegistryDbContext db, CancellationToken cancellationToken)
    {
        var health = _targets.Values.GroupBy(t => t.Target.TaskId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => TargetHealthTracker.Describe(g.Select(t => t.Target.State).MaxBy(Badness)), StringComparer.Ordinal);
        foreach (var (taskId, state) in health.Where(h => _writtenHealth.GetValueOrDefault(h.Key) != h.Value))
        {
            await db.Tasks.Where(t => t.TaskId == taskId).ExecuteUpdateAsync(u => u.SetProperty(t => t.TargetHealth, state), cancellationToken);
            _writtenHealth[taskId] = state;
        }

        foreach (var gone in _writtenHealth.Keys.Where(k => !health.ContainsKey(k)).ToList())
        {
            _writtenHealth.Remove(gone);
        }
    }

    /// <summary>Orders states so that the worst is the greatest: healthy, initial, unhealthy.</summary>
    private static int Badness(TargetHealthState state) => state switch
    {
        TargetHealthState.Healthy => 0,
        TargetHealthState.Initial => 1,
        _ => 2,
    };

    private async Task CheckAsync(Target target, CancellationToken cancellationToken)
    {
        var options = target.Group.Options;
        var url = new Uri(target.Prefix, options.HealthCheckPath);
        while (!cancellationToken.IsCancellationRequested)
        {
            bool passed;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(options.HealthCheckTimeout);
                using var response = await _checks.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                passed = target.Group.IsSuccess((int)response.StatusCode);
            }
            catch (HttpRequestException)
            {
                passed = false;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                passed = false;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                // Whatever else goes wrong counts as a failed check; the loop keeps checking.
                Log.CheckFailed(logger, target.TaskId, target.Prefix, e);
                passed = false;
            }

            if (target.Record(passed))
            {
                Log.HealthChanged(logger, target.TaskId, target.Prefix, target.Group.Name, TargetHealthTracker.Describe(target.State));
            }

            await Task.Delay(options.HealthCheckInterval, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private sealed record TargetKey(string Group, string TaskId, string Address, int Port);

    private static partial class Log
    {
        [LoggerMessage(EventId = 5201, Level = LogLevel.Warning, Message = "Refreshing the load balancer's targets failed; the next refresh retries")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 5202, Level = LogLevel.Information, Message = "Task {TaskId} at {Target} registered in target group {Group}")]
        public static partial void Registered(ILogger logger, string taskId, Uri target, string group);

        [LoggerMessage(EventId = 5203, Level = LogLevel.Information, Message = "Task {TaskId} at {Target} deregistered from target group {Group}")]
        public static partial void Deregistered(ILogger logger, string taskId, Uri target, string group);

        [LoggerMessage(EventId = 5205, Level = LogLevel.Warning, Message = "Task {TaskId} reports address '{Address}', which is not an IP address or host name: it gets no traffic from target group {Group}")]
        public static partial void BadAddress(ILogger logger, string taskId, string address, string group);

        [LoggerMessage(EventId = 5206, Level = LogLevel.Warning, Message = "Checking task {TaskId} at {Target} failed")]
        public static partial void CheckFailed(ILogger logger, string taskId, Uri target, Exception exception);

        [LoggerMessage(EventId = 5204, Level = LogLevel.Information, Message = "Task {TaskId} at {Target} in target group {Group} is {State}")]
        public static partial void HealthChanged(ILogger logger, string taskId, Uri target, string group, string state);
    }
}
