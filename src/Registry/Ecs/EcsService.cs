using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.AwsApi;
using Registry.Data;
using Registry.Data.Entities;
using Registry.Iam;
using Registry.Kubernetes;
using Registry.LoadBalancing;
using Registry.Security.Policies;

namespace Registry.Ecs;

/// <summary>
/// The ECS control plane's API (JSON 1.1, target prefix <c>AmazonEC2ContainerServiceV20141113.</c>,
/// signed for service <c>ecs</c>), authorized as <c>ecs:&lt;Operation&gt;</c> through the same IAM
/// policies, in ECS's shapes and error types. This part: clusters; the other parts: task definitions,
/// container instances, tasks and the agents' calls.
/// </summary>
internal sealed partial class EcsService(IOptions<AwsOptions> aws, TargetGroups targetGroups, IOptions<KubernetesOptions> kubernetes) : IAwsJsonService
{
    public string TargetPrefix => "AmazonEC2ContainerServiceV20141113.";

    public string SigningName => "ecs";

    private AwsOptions Aws => aws.Value;

    public Task<object>? Invoke(string operation, AwsCall call) => operation switch
    {
        "CreateCluster" => CreateClusterAsync(call),
        "DescribeClusters" => DescribeClustersAsync(call),
        "ListClusters" => ListClustersAsync(call),
        "DeleteCluster" => DeleteClusterAsync(call),
        "RegisterTaskDefinition" => RegisterTaskDefinitionAsync(call),
        "DescribeTaskDefinition" => DescribeTaskDefinitionAsync(call),
        "ListTaskDefinitions" => ListTaskDefinitionsAsync(call),
        "DeregisterTaskDefinition" => DeregisterTaskDefinitionAsync(call),
        "RegisterContainerInstance" => RegisterContainerInstanceAsync(call),
        "DescribeContainerInstances" => DescribeContainerInstancesAsync(call),
        "ListContainerInstances" => ListContainerInstancesAsync(call),
        "DeregisterContainerInstance" => DeregisterContainerInstanceAsync(call),
        "RunTask" => RunTaskAsync(call),
        "StartTask" => StartTaskAsync(call),
        "StopTask" => StopTaskAsync(call),
        "DescribeTasks" => DescribeTasksAsync(call),
        "ListTasks" => ListTasksAsync(call),
        "CreateService" => CreateServiceAsync(call),
        "UpdateService" => UpdateServiceAsync(call),
        "DeleteService" => DeleteServiceAsync(call),
        "DescribeServices" => DescribeServicesAsync(call),
        "ListServices" => ListServicesAsync(call),
        "Poll" => PollAsync(call),
        "SubmitTaskStateChange" => SubmitTaskStateChangeAsync(call),
        "SubmitContainerStateChange" => SubmitContainerStateChangeAsync(call),
        _ => null,
    };

    public string AuditResource(string operation, JsonElement body) =>
        body.TryGetProperty("cluster", out var cluster) && cluster.ValueKind == JsonValueKind.String ? ClusterArn(ClusterName(cluster.GetString()!))
        : body.TryGetProperty("clusterName", out var name) && name.ValueKind == JsonValueKind.String ? ClusterArn(name.GetString()!)
        : body.TryGetProperty("family", out var family) && family.ValueKind == JsonValueKind.String ? $"arn:aws:ecs:{Aws.Region}:{Aws.AccountId}:task-definition/{family.GetString()}"
        : body.TryGetProperty("taskDefinition", out var definition) && definition.ValueKind == JsonValueKind.String ? definition.GetString()!
        : $"arn:aws:ecs:{Aws.Region}:{Aws.AccountId}:*";

    private async Task<object> CreateClusterAsync(AwsCall call)
    {
        var name = call.Optional("clusterName") ?? "default";
        if (!ClusterNamePattern().IsMatch(name))
        {
            throw AwsApiException.InvalidParameter("Cluster name can have up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.");
        }

        await AuthorizeAsync(call, "ecs:CreateCluster", ClusterArn(name));
        await using var db = await DbAsync(call);
        var cluster = await db.Clusters.FirstOrDefaultAsync(c => c.Name == name, call.Context.RequestAborted);
        if (cluster is null)
        {
            cluster = new ClusterEntity { Name = name, Status = "ACTIVE", CreatedAt = DateTime.UtcNow };
            db.Clusters.Add(cluster);
        }
        else
        {
            // As ECS: creating an existing cluster returns it; creating a deleted one brings it back.
            cluster.Status = "ACTIVE";
        }

        try
        {
            await db.SaveChangesAsync(call.Context.RequestAborted);
        }
        catch (DbUpdateException)
        {
            cluster = await db.Clusters.AsNoTracking().FirstAsync(c => c.Name == name, call.Context.RequestAborted);
        }

        await DurableAsync(call);
        var counts = await CountsAsync(db, [cluster.Id], call.Context.RequestAborted);
        return new { cluster = Describe(cluster, counts[cluster.Id]) };
    }

    private async Task<object> DescribeClustersAsync(AwsCall call)
    {
        var requested = call.Strings("clusters", required: false);
        var names = (requested.Count > 0 ? requested : ["default"]).Select(ClusterName).ToList();
        await using var db = await DbAsync(call);
        var found = await db.Clusters.AsNoTracking().Where(c => names.Contains(c.Name)).ToListAsync(call.Context.RequestAborted);
        var counts = await CountsAsync(db, found.Select(c => c.Id).ToList(), call.Context.RequestAborted);
        var clusters = new List<object>();
        var failures = new List<object>();
        foreach (var name in names)
        {
            await AuthorizeAsync(call, "ecs:DescribeClusters", ClusterArn(name));
            if (found.FirstOrDefault(c => c.Name == name) is { } cluster)
            {
                clusters.Add(Describe(cluster, counts.GetValueOrDefault(cluster.Id)));
            }
            else
            {
                failures.Add(new { arn = ClusterArn(name), reason = "MISSING" });
            }
        }

        return new { clusters, failures };
    }

    private async Task<object> ListClustersAsync(AwsCall call)
    {
        await AuthorizeAsync(call, "ecs:ListClusters", ClusterArn("*"));
        var limit = call.MaxResults(100, 100);
        var after = call.PageAfter();
        await using var db = await DbAsync(call);
        var query = db.Clusters.AsNoTracking().Where(c => c.Status == "ACTIVE");
        if (after is not null)
        {
            query = query.Where(c => string.Compare(c.Name, after) > 0);
        }

        var names = await query.OrderBy(c => c.Name).Select(c => c.Name).Take(limit + 1).ToListAsync(call.Context.RequestAborted);
        var page = names.Take(limit).ToList();
        return new { clusterArns = page.Select(ClusterArn).ToList(), nextToken = names.Count > limit ? AwsCallExtensions.NextToken(page[^1]) : null };
    }

    private async Task<object> DeleteClusterAsync(AwsCall call)
    {
        var name = ClusterName(call.Required("cluster"));
        await AuthorizeAsync(call, "ecs:DeleteCluster", ClusterArn(name));
        await using var db = await DbAsync(call);
        await using var transaction = await db.Database.BeginTransactionAsync(call.Context.RequestAborted);
        var cluster = await db.Clusters.FirstOrDefaultAsync(c => c.Name == name && c.Status == "ACTIVE", call.Context.RequestAborted)
                      ?? throw ClusterNotFound();

        // Held so that no service is created in the cluster between the check and the delete.
        await db.LockRowsAsync(call.Context.RequestServices.GetRequiredService<IRowLocks>().ForUpdate, "Clusters", "Id", [cluster.Id], call.Context.RequestAborted);
        if (await db.Services.AnyAsync(s => s.ClusterId == cluster.Id && s.Status != Scheduler.Services.ServiceStatuses.Inactive, call.Context.RequestAborted))
        {
            throw new AwsApiException("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.");
        }

        if (await db.ContainerInstances.AnyAsync(i => i.ClusterId == cluster.Id && i.Status == "ACTIVE", call.Context.RequestAborted))
        {
            throw new AwsApiException("ClusterContainsContainerInstancesException", "The Cluster cannot be deleted while Container Instances are active or draining.");
        }

        cluster.Status = "INACTIVE";
        await db.SaveChangesAsync(call.Context.RequestAborted);
        await transaction.CommitAsync(call.Context.RequestAborted);
        await DurableAsync(call);
        return new { cluster = Describe(cluster) };
    }

    /// <summary>Per cluster: ACTIVE container instances, RUNNING and PENDING tasks, ACTIVE services, as DescribeClusters counts them.</summary>
    private static async Task<Dictionary<long, ClusterCounts>> CountsAsync(RegistryDbContext db, List<long> clusterIds, CancellationToken cancellationToken)
    {
        var instances = await db.ContainerInstances.Where(i => clusterIds.Contains(i.ClusterId) && i.Status == "ACTIVE")
            .GroupBy(i => i.ClusterId).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken);
        var tasks = await db.Tasks.Where(t => clusterIds.Contains(t.ClusterId) && (t.LastStatus == Scheduler.Tasks.TaskStatuses.Running || t.LastStatus == Scheduler.Tasks.TaskStatuses.Pending))
            .GroupBy(t => new { t.ClusterId, t.LastStatus }).Select(g => new { g.Key.ClusterId, g.Key.LastStatus, Count = g.Count() }).ToListAsync(cancellationToken);
        var services = await db.Services.Where(s => clusterIds.Contains(s.ClusterId) && s.Status == Scheduler.Services.ServiceStatuses.Active)
            .GroupBy(s => s.ClusterId).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken);
        return clusterIds.ToDictionary(id => id, id => new ClusterCounts(
            instances.GetValueOrDefault(id),
            tasks.Where(t => t.ClusterId == id && t.LastStatus == Scheduler.Tasks.TaskStatuses.Running).Sum(t => t.Count),
            tasks.Where(t => t.ClusterId == id && t.LastStatus == Scheduler.Tasks.TaskStatuses.Pending).Sum(t => t.Count),
            services.GetValueOrDefault(id)));
    }

    private object Describe(ClusterEntity cluster, ClusterCounts? counts = null) => new
    {
        clusterArn = ClusterArn(cluster.Name),
        clusterName = cluster.Name,
        status = cluster.Status,
        registeredContainerInstancesCount = counts?.Instances ?? 0,
        runningTasksCount = counts?.RunningTasks ?? 0,
        pendingTasksCount = counts?.PendingTasks ?? 0,
        activeServicesCount = counts?.ActiveServices ?? 0,
        statistics = Array.Empty<object>(),
        tags = Array.Empty<object>(),
        settings = new[] { new { name = "containerInsights", value = "disabled" } },
        capacityProviders = Array.Empty<string>(),
        defaultCapacityProviderStrategy = Array.Empty<object>(),
    };

    private string ClusterArn(string name) => $"arn:aws:ecs:{Aws.Region}:{Aws.AccountId}:cluster/{name}";

    /// <summary>A cluster named by name or ARN.</summary>
    private static string ClusterName(string nameOrArn) =>
        nameOrArn.StartsWith("arn:", StringComparison.Ordinal) && nameOrArn.Contains(":cluster/", StringComparison.Ordinal)
            ? nameOrArn[(nameOrArn.IndexOf(":cluster/", StringComparison.Ordinal) + ":cluster/".Length)..]
            : nameOrArn;

    private static AwsApiException ClusterNotFound() => new("ClusterNotFoundException", "Cluster not found.");

    /// <summary>ECS resources have no resource policies: identity policies decide.</summary>
    private async Task AuthorizeAsync(AwsCall call, string action, string resourceArn)
    {
        if (await call.Context.RequestServices.GetRequiredService<PolicyAuthorizer>().DecideIdentityAsync(call.User, action, resourceArn, call.Context) != Decision.Allow)
        {
            throw new AwsApiException("AccessDeniedException", $"User: {Aws.CallerArn(call.User.Identity!.Name!)} is not authorized to perform: {action} on resource: {resourceArn}");
        }
    }

    private static async Task<RegistryDbContext> DbAsync(AwsCall call) =>
        await call.Context.RequestServices.GetRequiredService<IDbContextFactory<RegistryDbContext>>().CreateDbContextAsync(call.Context.RequestAborted);

    private static ValueTask DurableAsync(AwsCall call) =>
        call.Context.RequestServices.GetRequiredService<ICommitDurability>().EnsureDurableAsync(CancellationToken.None);

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,255}$")]
    private static partial Regex ClusterNamePattern();
}

/// <summary>What DescribeClusters counts in a cluster.</summary>
internal sealed record ClusterCounts(int Instances, int RunningTasks, int PendingTasks, int ActiveServices);
