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
    ICommitDurability durability,
    IOptions<KubernetesOptions> options,
    TimeProvider clock,
    ILogger<KubernetesLauncher> logger) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly ConcurrentDictionary<string, bool> _serviceAccounts = new(StringComparer.Ordinal);

    private KubernetesOptions Options => options.Value;

    private string Namespace => Options.Namespace;

    /// <summary>Asks for a pass now (a task or service was created, changed or stopped).</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A pass is already asked for.
        }
    }

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
                await foreach (var _ in client.CoreV1.WatchListNamespacedPodAsync(Namespace, labelSelector: KubernetesNames.ManagedSelector, cancellationToken: stoppingToken))
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

        var deployments = (await client.AppsV1.ListNamespacedDeploymentAsync(Namespace, labelSelector: KubernetesNames.ManagedSelector, cancellationToken: cancellationToken)).Items;
        var ports = (await client.CoreV1.ListNamespacedServiceAsync(Namespace, labelSelector: KubernetesNames.ManagedSelector, cancellationToken: cancellationToken)).Items;
        foreach (var (workload, definition) in wanted)
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

    private async Task ReconcileTasksAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        // Tasks first, then Pods: a task that has moved past PROVISIONING had its Pod before this list.
        var tasks = await db.Tasks.Where(t => t.LaunchType == LaunchTypes.Kubernetes && t.LastStatus != TaskStatuses.Stopped).ToListAsync(cancellationToken);
        var pods = (await client.CoreV1.ListNamespacedPodAsync(Namespace, labelSelector: KubernetesNames.ManagedSelector, cancellationToken: cancellationToken)).Items;
        var podsByTask = pods.ToDictionary(TaskIdOf, StringComparer.Ordinal);
        var now = clock.GetUtcNow().UtcDateTime;
        var definitionIds = tasks.Select(t => t.TaskDefinitionId).Concat(pods.Select(DefinitionIdOf).OfType<long>()).Distinct().ToList();
        var definitions = await db.TaskDefinitions.AsNoTracking().Where(d => definitionIds.Contains(d.Id)).ToDictionaryAsync(d => d.Id, cancellationToken);

        foreach (var task in tasks)
        {
            if (podsByTask.TryGetValue(task.TaskId, out var pod))
            {
                // The report first: an essential container that exited makes the task stop, and its Pod goes now.
                TaskLifecycle.Apply(task, PodReports.Of(pod, TaskContainer.ReadAll(task.Containers)), now);
                if (task.DesiredStatus == TaskStatuses.Stopped && pod.Metadata.DeletionTimestamp is null)
                {
                    await DeletePodAsync(pod, cancellationToken);
                }
            }
            else if (task.LastStatus == TaskStatuses.Provisioning && task.DesiredStatus == TaskStatuses.Running && ServiceStatuses.ServiceOf(task.Group) is null)
            {
                await CreatePodAsync(task, definitions[task.TaskDefinitionId], now, cancellationToken);
            }
            else
            {
                // Its Pod is gone: deleted by us after a stop, by a Deployment scaling in, or by someone else.
                var reason = ServiceStatuses.ServiceOf(task.Group) is not null ? $"Scaling activity initiated by (deployment {task.StartedBy})" : "Its Pod was deleted.";
                TaskLifecycle.RequestStop(task, reason, ServiceStatuses.ServiceOf(task.Group) is not null ? StopCodes.ServiceSchedulerInitiated : StopCodes.TerminationNotice, now);
                TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Stopped, reason, []), now);
            }
        }

        var known = tasks.Select(t => t.TaskId).ToHashSet(StringComparer.Ordinal);
        var orphans = pods.Where(p => !known.Contains(TaskIdOf(p))).ToList();
        if (orphans.Count > 0)
        {
            await AdoptOrRemoveAsync(db, orphans, definitions, now, cancellationToken);
        }

        await db.SaveChangesAsync(cancellationToken);
        await durability.EnsureDurableAsync(CancellationToken.None);
    }

    /// <summary>
    /// Pods without a live task: a service's new Pod becomes a task of the service (its ECS deployment
    /// from the pod template); a Pod whose task has stopped, or that nothing knows, is deleted.
    /// </summary>
    private async Task AdoptOrRemoveAsync(RegistryDbContext db, List<V1Pod> pods, Dictionary<long, TaskDefinitionEntity> definitions, DateTime now, CancellationToken cancellationToken)
    {
        var ids = pods.Select(TaskIdOf).ToList();
        var stopped = await db.Tasks.AsNoTracking().Where(t => ids.Contains(t.TaskId)).Select(t => t.TaskId).ToListAsync(cancellationToken);
        var serviceIds = pods.Select(ServiceIdOf).OfType<long>().Distinct().ToList();
        var services = await db.Services.AsNoTracking().Where(s => serviceIds.Contains(s.Id) && s.Status != ServiceStatuses.Inactive).ToDictionaryAsync(s => s.Id, cancellationToken);
        foreach (var pod in pods)
        {
            if (pod.Metadata.DeletionTimestamp is not null)
            {
                continue;
            }

            var adoptable = ServiceIdOf(pod) is { } serviceId && services.TryGetValue(serviceId, out var service) && !stopped.Contains(TaskIdOf(pod))
                && DefinitionIdOf(pod) is { } definitionId && definitions.TryGetValue(definitionId, out var definition)
                && pod.Status?.Phase is not ("Succeeded" or "Failed");
            if (!adoptable)
            {
                await DeletePodAsync(pod, cancellationToken);
                continue;
            }

            var owner = services[ServiceIdOf(pod)!.Value];
            var taskDefinition = definitions[DefinitionIdOf(pod)!.Value];
            var plan = TaskPlan.From(JsonNode.Parse(taskDefinition.Document)!.AsObject(), TaskOverrides.Read(null));
            var task = new TaskEntity
            {
                LaunchType = LaunchTypes.Kubernetes,
                TaskId = TaskIdOf(pod),
                ClusterId = owner.ClusterId,
                TaskDefinitionId = taskDefinition.Id,
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
            TaskLifecycle.Apply(task, PodReports.Of(pod, plan.Containers), now);
            db.Tasks.Add(task);
        }
    }

    private async Task CreatePodAsync(TaskEntity task, TaskDefinitionEntity definition, DateTime now, CancellationToken cancellationToken)
    {
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
            var reason = e is HttpOperationException http ? $"Kubernetes refused the Pod: {http.Response.StatusCode} {Truncate(http.Response.Content)}" : e.Message;
            TaskLifecycle.RequestStop(task, reason, StopCodes.TaskFailedToStart, now);
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

        [LoggerMessage(EventId = 5303, Level = LogLevel.Information, Message = "Removing {Kind} {Name}: its service is gone")]
        public static partial void Removing(ILogger logger, string kind, string name);
    }
}
