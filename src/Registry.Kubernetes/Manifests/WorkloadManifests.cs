using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;
using Registry.Scheduler.Tasks;

namespace Registry.Kubernetes.Manifests;

/// <summary>
/// What the launcher creates: a Pod per task run alone (restartPolicy Never, so it ends as an ECS task
/// does), a Deployment per service (its rolling update bounded by the service's minimumHealthyPercent
/// and maximumPercent) with a Service for its port mappings, and a ServiceAccount per task role.
/// </summary>
public static class WorkloadManifests
{
    public static V1Pod TaskPod(string taskId, long taskDefinitionId, JsonObject taskDefinition, TaskOverrides overrides, KubernetesOptions options) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new V1ObjectMeta
        {
            Name = KubernetesNames.Pod(taskId),
            NamespaceProperty = options.Namespace,
            Labels = new Dictionary<string, string>(KubernetesNames.ManagedLabels(options))
            {
                [KubernetesNames.TaskLabel] = taskId,
                [KubernetesNames.TaskDefinitionLabel] = Id(taskDefinitionId),
            },
        },
        Spec = PodSpecs.For(taskDefinition, overrides, ServiceAccountOf(TaskRoleOf(taskDefinition, overrides)), options.ImagePullSecrets, restartAlways: false),
    };

    public static V1Deployment ServiceDeployment(ServiceWorkload service, JsonObject taskDefinition, KubernetesOptions options)
    {
        var selector = ServiceSelector(service.ServiceId, options);
        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta { Name = KubernetesNames.Deployment(service.Name, service.ServiceId), NamespaceProperty = options.Namespace, Labels = selector },
            Spec = new V1DeploymentSpec
            {
                Replicas = service.Replicas,
                Selector = new V1LabelSelector { MatchLabels = selector },
                Strategy = new V1DeploymentStrategy
                {
                    Type = "RollingUpdate",
                    RollingUpdate = new V1RollingUpdateDeployment
                    {
                        MaxSurge = $"{Math.Max(0, service.MaximumPercent - 100)}%",
                        MaxUnavailable = $"{Math.Max(0, 100 - service.MinimumHealthyPercent)}%",
                    },
                },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta
                    {
                        Labels = new Dictionary<string, string>(selector) { [KubernetesNames.TaskDefinitionLabel] = Id(service.TaskDefinitionId) },
                        Annotations = new Dictionary<string, string> { [KubernetesNames.DeploymentAnnotation] = service.DeploymentId },
                    },
                    Spec = PodSpecs.For(taskDefinition, TaskOverrides.Read(null), ServiceAccountOf((string?)taskDefinition["taskRoleArn"]), options.ImagePullSecrets, restartAlways: true),
                },
            },
        };
    }

    /// <summary>The Service in front of a service's Pods: one port per port mapping; none when there are no mappings.</summary>
    public static V1Service? ServicePorts(ServiceWorkload service, JsonObject taskDefinition, KubernetesOptions options)
    {
        var ports = (taskDefinition["containerDefinitions"] as JsonArray ?? []).SelectMany(c => c?["portMappings"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(m => (Port: (int)m["containerPort"]!, Protocol: ((string?)m["protocol"] ?? "tcp").ToUpperInvariant()))
            .Distinct()
            .Select(p => new V1ServicePort { Name = $"{p.Protocol.ToLowerInvariant()}-{p.Port}", Port = p.Port, TargetPort = p.Port, Protocol = p.Protocol })
            .ToList();
        if (ports.Count == 0)
        {
            return null;
        }

        var selector = ServiceSelector(service.ServiceId, options);
        return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta { Name = KubernetesNames.Deployment(service.Name, service.ServiceId), NamespaceProperty = options.Namespace, Labels = selector },
            Spec = new V1ServiceSpec { Type = "ClusterIP", Selector = selector, Ports = ports },
        };
    }

    /// <summary>The service account for a task role, annotated with the role as EKS's IAM roles for service accounts are.</summary>
    public static V1ServiceAccount ServiceAccount(string roleArn, KubernetesOptions options) => new()
    {
        ApiVersion = "v1",
        Kind = "ServiceAccount",
        Metadata = new V1ObjectMeta
        {
            Name = ServiceAccountOf(roleArn)!,
            NamespaceProperty = options.Namespace,
            Labels = KubernetesNames.ManagedLabels(options),
            Annotations = new Dictionary<string, string> { [KubernetesNames.RoleArnAnnotation] = roleArn },
        },
    };

    /// <summary>The role a task runs as, from its overrides or its task definition.</summary>
    public static string? TaskRoleOf(JsonObject taskDefinition, TaskOverrides overrides) => overrides.TaskRoleArn ?? (string?)taskDefinition["taskRoleArn"];

    private static string? ServiceAccountOf(string? roleArn) => roleArn is null ? null : KubernetesNames.ServiceAccount(roleArn[(roleArn.LastIndexOf('/') + 1)..]);

    private static Dictionary<string, string> ServiceSelector(long serviceId, KubernetesOptions options) => new(KubernetesNames.ManagedLabels(options))
    {
        [KubernetesNames.ServiceLabel] = Id(serviceId),
    };

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What a service's Deployment is made from: the primary ECS deployment and the service's limits.</summary>
public sealed record ServiceWorkload(long ServiceId, string Name, string DeploymentId, long TaskDefinitionId, int Replicas, int MinimumHealthyPercent, int MaximumPercent);
