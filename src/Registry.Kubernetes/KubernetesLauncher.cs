using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Data;
using Registry.Data.Entities;
using Registry.Kubernetes.Manifests;
using Registry.Scheduler.Services;
using Registry.Scheduler.Tasks;
using Registry.Scheduler;

namespace Registry.Kubernetes;

/// <summary>
/// Runs the KUBERNETES launch type: makes the cluster hold what the control plane's database says
/// (a Pod per task run alone, a Deployment and a Service per service, a ServiceAccount per task role) and
/// writes back what the Pods do as the tasks' states, the way agents report theirs. A watch on the Pods
/// starts a pass as soon as one changes; a full pass also runs every <see cref="KubernetesOptions.ResyncInterval"/>
/// and whenever the API asks (<see cref="Wake"/>), so a missed event costs seconds, not a stuck task.
/// Every step is idempotent (names are fixed, creation tolerates "already exists"), so control plane
/// replicas may run it side by side.
/// </summary>
public sealed partial class KubernetesLauncher(
    IKubernetes client,
    IDbContextFactory<RegistryDbContext> dbFactory,
    IRowLocks locks,
    ICommitDurability durability,
    IOptions<KubernetesOptions> options,
    TimeProvider clock,
    ILogger<KubernetesLauncher> logger) : BackgroundService, ITaskLauncher
{
    private readonly WakeSignal _wake = new();
    private readonly ConcurrentDictionary<string, bool> _serviceAccounts = new(StringComparer.Ordinal);

    private KubernetesOptions Options => options.Value;

    private string Namespace => Options.Namespace;

    /// <summary>Selects what this installation manages, and nothing another one in the namespace does.</summary>
    private string Selector => KubernetesNames.Selector(Options);

    /// <summary>Asks for a pass now (a task or service was created, changed or stopped).</summary>
    public void Wake() => _wake.Set();

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watch = WatchPodsAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PassAsync(stoppingToken);
                await _wake.WaitAsync(Options.ResyncInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Log.PassFailed(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(2), clock, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        await watch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Every change to a managed Pod starts a pass; the watch reconnects when the API ends it.</summary>
    private async Task WatchPodsAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var _ in client.CoreV1.WatchListNamespacedPodAsync(Namespace, labelSelector: Selector, cancellationToken: stoppingToken))
                {
                    Wake();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.WatchFailed(logger, e);
            }

            await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>One pass: services first (their Deployments make Pods), then tasks against the Pods that exist.</summary>
    public async Task PassAsync(CancellationToken cancellationToken)
    {
        await ReconcileServicesAsync(cancellationToken);
        await ReconcileTasksAsync(cancellationToken);
    }

    private async Task ReconcileServicesAsync(CancellationToken cancellationToken)
    {
        List<(ServiceWorkload Workload, JsonObject Definition)> wanted;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var services = await db.Services.AsNoTracking().Where(s => s.LaunchType == LaunchTypes.Kubernetes && s.Status != ServiceStatuses.Inactive).ToListAsync(cancellationToken);
            var definitionIds = services.Select(s => ServiceDeployment.ReadAll(s.Deployments)[0].TaskDefinitionId).Distinct().ToList();
            var definitions = await db.TaskDefinitions.AsNoTracking().Where(d => definitionIds.Contains(d.Id)).ToDictionaryAsync(d => d.Id, d => d.Document, cancellationToken);
            wanted = services.Select(s =>
            {
                var primary = ServiceDeployment.ReadAll(s.Deployments)[0];
                var replicas = s.Status == ServiceStatuses.Draining ? 0 : s.DesiredCount;
                return (new ServiceWorkload(s.Id, s.Name, primary.Id, primary.TaskDefinitionId, replicas, s.MinimumHealthyPercent, s.MaximumPercent),
                    JsonNode.Parse(definitions[primary.TaskDefinitionId])!.AsObject());
            }).ToList();
        }

        var deployments = (await client.AppsV1.ListNamespacedDeploymentAsync(Namespace, labelSelector: Selector, cancellationToken: cancellationToken)).Items;
        var ports = (await client.CoreV1.ListNamespacedServiceAsync(Namespace, labelSelector: Selector, cancellationToken: cancellationToken)).Items;
        foreach (var (workload, definition) in wanted)
        {
            try
            {
                await ApplyServiceAsync(workload, definition, deployments, ports, cancellationToken);
            }
            catch (Exception e) when (e is HttpOperationException or KubernetesManifestException)
            {
                // One service the cluster refuses (a name taken by something else, an invalid spec) must not hold up the others or the tasks.
                Log.ServiceFailed(logger, workload.Name, e);
            }
        }

        // What belongs to a deleted (INACTIVE) service goes; its Pods go with its Deployment.
        var live = wanted.Select(w => KubernetesNames.Deployment(w.Workload.Name, w.Workload.ServiceId)).ToHashSet(StringComparer.Ordinal);
        foreach (var stale in deployments.Where(d => !live.Contains(d.Metadata.Name)))
        {
            Log.Removing(logger, "Deployment", stale.Metadata.Name);
            await IgnoreNotFound(client.AppsV1.DeleteNamespacedDeploymentAsync(stale.Metadata.Name, Namespace, propagationPolicy: "Background", cancellationToken: cancellationToken));
        }

        foreach (var stale in ports.Where(s => !live.Contains(s.Metadata.Name)))
        {
            Log.Removing(logger, "Service", stale.Metadata.Name);
            await IgnoreNotFound(client.CoreV1.DeleteNamespacedServiceAsync(stale.Metadata.Name, Namespace, cancellationToken: cancellationToken));
        }
    }

    private async Task ApplyServiceAsync(ServiceWorkload workload, JsonObject definition, IList<V1Deployment> deployments, IList<V1Service> ports, CancellationToken cancellationToken)
    {
        if ((string?)definition["taskRoleArn"] is { } role)
        {
            await EnsureServiceAccountAsync(role, cancellationToken);
        }

        await ApplyAsync(WorkloadManifests.ServiceDeployment(workload, definition, Options), deployments, cancellationToken);
        var name = KubernetesNames.Deployment(workload.Name, workload.ServiceId);
        if (WorkloadManifests.ServicePorts(workload, definition, Options) is { } service)
        {
            await ApplyAsync(service, ports, cancellationToken);
        }
        else if (ports.Any(s => s.Metadata.Name == name))
        {
            await IgnoreNotFound(client.CoreV1.DeleteNamespacedServiceAsync(name, Namespace, cancellationToken: cancellationToken));
        }
    }

    private async Task ReconcileTasksAsync(CancellationToken cancellationToken)
    {
        // Tasks first, then Pods: a task that has moved past PROVISIONING had its Pod before this list.
        List<(long Id, string TaskId)> snapshot;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            snapshot = (await db.Tasks.AsNoTracking().Where(t => t.LaunchType == LaunchTypes.Kubernetes && t.LastStatus != TaskStatuses.Stopped)
                .Select(t => new { t.Id, t.TaskId }).ToListAsync(cancellationToken)).Select(t => (t.Id, t.TaskId)).ToList();
        }

        var pods = (await client.CoreV1.ListNamespacedPodAsync(Namespace, labelSelector: Selector, cancellationToken: cancellationToken)).Items;
        var podsByTask = pods.GroupBy(TaskIdOf, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var (creates, deletes) = await ApplyPodStatesAsync(snapshot.Select(t => t.Id).ToList(), podsByTask, cancellationToken);

        // The states are committed before the cluster is touched: a failed call is retried next pass, never a lost stop reason.
        foreach (var pod in deletes)
        {
            await DeletePodAsync(pod, cancellationToken);
        }

        foreach (var taskId in creates)
        {
            await CreatePodAsync(taskId, cancellationToken);
        }

        var known = snapshot.Select(t => t.TaskId).ToHashSet(StringComparer.Ordinal);
        var orphans = pods.Where(p => !known.Contains(TaskIdOf(p)) && p.Metadata.DeletionTimestamp is null).ToList();
        if (orphans.Count > 0)
        {
            await AdoptOrRemoveAsync(orphans, cancellationToken);
        }
    }

    /// <summary>
    /// Writes what the Pods say into their tasks, under the tasks' row locks (so a concurrent report or
    /// another replica's pass is not overwritten); returns the tasks whose Pods are to be created and the
    /// Pods to delete.
    /// </summary>
    private async Task<(List<string> Creates, List<V1Pod> Deletes)> ApplyPodStatesAsync(List<long> ids, Dictionary<string, V1Pod> podsByTask, CancellationToken cancellationToken)
    {
        var creates = new List<string>();
        var deletes = new List<V1Pod>();
        if (ids.Count == 0)
        {
            return (creates, deletes);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.LockRowsAsync(locks.ForUpdate, "Tasks", "Id", ids.Cast<object>().ToList(), cancellationToken);
        var tasks = await db.Tasks.Where(t => ids.Contains(t.Id) && t.LastStatus != TaskStatuses.Stopped).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var task in tasks)
        {
            var service = ServiceStatuses.ServiceOf(task.Group);
            if (podsByTask.TryGetValue(task.TaskId, out var pod))
            {
                if (pod.Metadata.DeletionTimestamp is not null)
                {
                    // Deleted by the cluster (a Deployment scaling in or rolling, an eviction): the task stops for that reason, not its containers' exit.
                    StopForDeletion(task, service, now);
                }

                TaskLifecycle.Apply(task, PodReports.Of(pod, TaskContainer.ReadAll(task.Containers), now), now);
                if (task.DesiredStatus == TaskStatuses.Stopped && pod.Metadata.DeletionTimestamp is null)
                {
                    deletes.Add(pod);
                }
            }
            else if (task.LastStatus == TaskStatuses.Provisioning && task.DesiredStatus == TaskStatuses.Running && service is null)
            {
                creates.Add(task.TaskId);
            }
            else
            {
                StopForDeletion(task, service, now);
                TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Stopped, null, []), now);
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await durability.EnsureDurableAsync(CancellationToken.None);
        return (creates, deletes);
    }

    /// <summary>A task whose Pod is going or gone without being asked to stop: a service's was scaled in or replaced; a lone task's Pod was deleted.</summary>
    private static void StopForDeletion(TaskEntity task, string? service, DateTime now)
    {
        if (service is not null)
        {
            TaskLifecycle.RequestStop(task, $"Scaling activity initiated by (deployment {task.StartedBy})", StopCodes.ServiceSchedulerInitiated, now);
        }
        else
        {
            TaskLifecycle.RequestStop(task, "Its Pod was deleted.", StopCodes.TerminationNotice, now);
        }
    }

    /// <summary>
    /// Pods without a live task in this pass's snapshot: a service's new Pod becomes a task of the service
    /// (its ECS deployment from the pod template); a Pod whose task has stopped, or that no task or service
    /// knows, is deleted. A Pod whose task is live (made since the snapshot) is left alone.
    /// </summary>
    private async Task AdoptOrRemoveAsync(List<V1Pod> pods, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        List<(V1Pod Pod, TaskEntity Task)> adopted = [];
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var ids = pods.Select(TaskIdOf).ToList();
            var rows = await db.Tasks.AsNoTracking().Where(t => ids.Contains(t.TaskId)).Select(t => new { t.TaskId, t.DesiredStatus, t.LastStatus }).ToListAsync(cancellationToken);
            var serviceIds = pods.Select(ServiceIdOf).OfType<long>().Distinct().ToList();
            var services = await db.Services.AsNoTracking().Where(s => serviceIds.Contains(s.Id) && s.Status != ServiceStatuses.Inactive).ToDictionaryAsync(s => s.Id, cancellationToken);
            var definitionIds = pods.Select(DefinitionIdOf).OfType<long>().Distinct().ToList();
            var definitions = await db.TaskDefinitions.AsNoTracking().Where(d => definitionIds.Contains(d.Id)).ToDictionaryAsync(d => d.Id, cancellationToken);
            foreach (var pod in pods)
            {
                if (rows.FirstOrDefault(r => r.TaskId == TaskIdOf(pod)) is { } row)
                {
                    if (row.DesiredStatus == TaskStatuses.Stopped || row.LastStatus == TaskStatuses.Stopped)
                    {
                        await DeletePodAsync(pod, cancellationToken);
                    }

                    continue;
                }

                if (ServiceIdOf(pod) is { } serviceId && services.TryGetValue(serviceId, out var owner)
                    && DefinitionIdOf(pod) is { } definitionId && definitions.TryGetValue(definitionId, out var definition)
                    && pod.Status?.Phase is not ("Succeeded" or "Failed"))
                {
                    adopted.Add((pod, NewServiceTask(pod, owner, definition, now)));
                }
                else if (ServiceIdOf(pod) is null || !services.ContainsKey(ServiceIdOf(pod)!.Value))
                {
                    await DeletePodAsync(pod, cancellationToken);
                }
            }
        }

        // One row at a time: another replica adopting the same Pod makes the insert fail on the task id, which is fine.
        foreach (var (_, task) in adopted)
        {
            try
            {
                await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
                db.Tasks.Add(task);
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException)
            {
                Log.AlreadyAdopted(logger, task.TaskId);
            }
        }

        await durability.EnsureDurableAsync(CancellationToken.None);
    }

    private static TaskEntity NewServiceTask(V1Pod pod, ServiceEntity owner, TaskDefinitionEntity definition, DateTime now)
    {
        var plan = TaskPlan.From(JsonNode.Parse(definition.Document)!.AsObject(), TaskOverrides.Read(null));
        var task = new TaskEntity
        {
            LaunchType = LaunchTypes.Kubernetes,
            TaskId = TaskIdOf(pod),
            ClusterId = owner.ClusterId,
            TaskDefinitionId = definition.Id,
            Group = ServiceStatuses.Group(owner.Name),
            StartedBy = pod.Metadata.Annotations?.TryGetValue(KubernetesNames.DeploymentAnnotation, out var deployment) == true ? deployment : null,
            LastStatus = TaskStatuses.Provisioning,
            DesiredStatus = TaskStatuses.Running,
            Cpu = plan.Cpu,
            Memory = plan.Memory,
            HostPorts = "",
            Overrides = TaskOverrides.Read(null).ToJson(),
            Containers = TaskContainer.WriteAll(plan.Containers),
            CreatedAt = pod.Metadata.CreationTimestamp ?? now,
            Version = 1,
        };
        TaskLifecycle.Apply(task, PodReports.Of(pod, plan.Containers, now), now);
        return task;
    }

    private async Task CreatePodAsync(string taskId, CancellationToken cancellationToken)
    {
        string? refusal = null;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var task = await db.Tasks.AsNoTracking().FirstAsync(t => t.TaskId == taskId, cancellationToken);
        var definition = await db.TaskDefinitions.AsNoTracking().FirstAsync(d => d.Id == task.TaskDefinitionId, cancellationToken);
        var document = JsonNode.Parse(definition.Document)!.AsObject();
        var overrides = TaskOverrides.Parse(task.Overrides);
        try
        {
            var pod = WorkloadManifests.TaskPod(task.TaskId, definition.Id, document, overrides, Options);
            if (WorkloadManifests.TaskRoleOf(document, overrides) is { } role)
            {
                await EnsureServiceAccountAsync(role, cancellationToken);
            }

            await client.CoreV1.CreateNamespacedPodAsync(pod, Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Created by an earlier pass or another replica: the next list sees it.
        }
        catch (Exception e) when (e is KubernetesManifestException or HttpOperationException { Response.StatusCode: >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError and not HttpStatusCode.TooManyRequests })
        {
            // Refused by the cluster (quota, admission, an invalid name): the task fails to start, as on an agent.
            // A server error or throttling is not the task's fault: the pass fails and the next one tries again.
            refusal = e is HttpOperationException http ? $"Kubernetes refused the Pod: {(int)http.Response.StatusCode} {Truncate(http.Response.Content)}" : e.Message;
            _serviceAccounts.Clear();
        }

        if (refusal is not null)
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            await db.LockRowsAsync(locks.ForUpdate, "Tasks", "Id", [task.Id], cancellationToken);
            var current = await db.Tasks.FirstAsync(t => t.Id == task.Id, cancellationToken);
            TaskLifecycle.RequestStop(current, refusal, StopCodes.TaskFailedToStart, clock.GetUtcNow().UtcDateTime);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Deletes a Pod; a refusal is logged and retried next pass rather than failing this one, whose
    /// other tasks' states must still be written.
    /// </summary>
    private async Task DeletePodAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        try
        {
            await IgnoreNotFound(client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, Namespace, cancellationToken: cancellationToken));
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            Log.DeleteFailed(logger, pod.Metadata.Name, e);
        }
    }

    /// <summary>Creates the role's service account once per process (it is never changed, and "exists" is success).</summary>
    private async Task EnsureServiceAccountAsync(string roleArn, CancellationToken cancellationToken)
    {
        if (_serviceAccounts.ContainsKey(roleArn))
        {
            return;
        }

        try
        {
            await client.CoreV1.CreateNamespacedServiceAccountAsync(WorkloadManifests.ServiceAccount(roleArn, Options), Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // It exists.
        }

        _serviceAccounts.TryAdd(roleArn, true);
    }

    /// <summary>Creates the Deployment, or replaces it when what it was made from changed (its spec hash differs).</summary>
    private async Task ApplyAsync(V1Deployment wanted, IList<V1Deployment> existing, CancellationToken cancellationToken)
    {
        var hash = SpecHash.Stamp(wanted.Metadata, wanted.Spec);
        if (existing.FirstOrDefault(d => d.Metadata.Name == wanted.Metadata.Name) is not { } current)
        {
            await client.AppsV1.CreateNamespacedDeploymentAsync(wanted, Namespace, cancellationToken: cancellationToken);
        }
        else if (!SpecHash.Matches(current.Metadata, hash))
        {
            await client.AppsV1.ReplaceNamespacedDeploymentAsync(wanted, wanted.Metadata.Name, Namespace, cancellationToken: cancellationToken);
        }
    }

    /// <summary>Creates the Service, or replaces it keeping the cluster IP Kubernetes gave it.</summary>
    private async Task ApplyAsync(V1Service wanted, IList<V1Service> existing, CancellationToken cancellationToken)
    {
        var hash = SpecHash.Stamp(wanted.Metadata, wanted.Spec);
        if (existing.FirstOrDefault(s => s.Metadata.Name == wanted.Metadata.Name) is not { } current)
        {
            await client.CoreV1.CreateNamespacedServiceAsync(wanted, Namespace, cancellationToken: cancellationToken);
        }
        else if (!SpecHash.Matches(current.Metadata, hash))
        {
            wanted.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
            wanted.Spec.ClusterIP = current.Spec?.ClusterIP;
            wanted.Spec.ClusterIPs = current.Spec?.ClusterIPs;
            await client.CoreV1.ReplaceNamespacedServiceAsync(wanted, wanted.Metadata.Name, Namespace, cancellationToken: cancellationToken);
        }
    }

    private static async Task IgnoreNotFound<T>(Task<T> call)
    {
        try
        {
            await call;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone.
        }
    }

    /// <summary>The task a Pod stands for: named by label for a task run alone, the Pod's uid for a service's.</summary>
    private static string TaskIdOf(V1Pod pod) =>
        pod.Metadata.Labels?.TryGetValue(KubernetesNames.TaskLabel, out var id) == true ? id : KubernetesNames.TaskIdOf(pod.Metadata.Uid ?? pod.Metadata.Name);

    private static long? ServiceIdOf(V1Pod pod) => LongLabel(pod, KubernetesNames.ServiceLabel);

    private static long? DefinitionIdOf(V1Pod pod) => LongLabel(pod, KubernetesNames.TaskDefinitionLabel);

    private static long? LongLabel(V1Pod pod, string label) =>
        pod.Metadata.Labels?.TryGetValue(label, out var text) == true && long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : null;

    private static string Truncate(string? text) => text is null ? "" : text.Length > 200 ? text[..200] : text;

    private static partial class Log
    {
        [LoggerMessage(EventId = 5301, Level = LogLevel.Warning, Message = "A Kubernetes pass failed; the next pass retries")]
        public static partial void PassFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 5302, Level = LogLevel.Information, Message = "The Pod watch ended; reconnecting")]
        public static partial void WatchFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 5304, Level = LogLevel.Warning, Message = "Deleting Pod {Name} failed; the next pass retries")]
        public static partial void DeleteFailed(ILogger logger, string name, Exception exception);

        [LoggerMessage(EventId = 5305, Level = LogLevel.Warning, Message = "Applying service {Service} to Kubernetes failed; the next pass retries")]
        public static partial void ServiceFailed(ILogger logger, string service, Exception exception);

        [LoggerMessage(EventId = 5306, Level = LogLevel.Debug, Message = "The Pod of task {TaskId} was adopted by another replica")]
        public static partial void AlreadyAdopted(ILogger logger, string taskId);

        [LoggerMessage(EventId = 5303, Level = LogLevel.Information, Message = "Removing {Kind} {Name}: its service is gone")]
        public static partial void Removing(ILogger logger, string kind, string name);
    }
}
