using System.Security.Cryptography;
using System.Text;

namespace Registry.Kubernetes.Manifests;

/// <summary>
/// Names and labels of what the launcher creates. ECS names allow capitals and underscores that
/// Kubernetes names do not, so names are made DNS-1123 safe with a short hash of the original whenever
/// that changed them; the labels carry ids, which are safe as they are.
/// </summary>
public static class KubernetesNames
{
    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "registry";
    public const string InstallationLabel = "registry.ecs/installation";
    public const string TaskLabel = "registry.ecs/task-id";
    public const string ServiceLabel = "registry.ecs/service-id";
    public const string TaskDefinitionLabel = "registry.ecs/task-definition-id";

    /// <summary>The ECS deployment (<c>ecs-svc/…</c>) a Deployment's pod template belongs to; a new one rolls the Deployment.</summary>
    public const string DeploymentAnnotation = "registry.ecs/deployment-id";

    /// <summary>The IAM role a service account stands for, under the annotation EKS reads (IAM roles for service accounts).</summary>
    public const string RoleArnAnnotation = "eks.amazonaws.com/role-arn";

    /// <summary>Selects everything this installation's launcher manages.</summary>
    public static string Selector(KubernetesOptions options) => $"{ManagedBy}={ManagedByValue},{InstallationLabel}={options.Installation}";

    /// <summary>The labels on everything the launcher makes, which <see cref="Selector"/> selects.</summary>
    public static Dictionary<string, string> ManagedLabels(KubernetesOptions options) => new()
    {
        [ManagedBy] = ManagedByValue,
        [InstallationLabel] = options.Installation,
    };

    public static string Pod(string taskId) => "ecs-task-" + taskId;

    public static string Deployment(string serviceName, long serviceId) => Dns1123($"ecs-{serviceName}-{serviceId}", 63);

    public static string ServiceAccount(string roleName) => Dns1123("ecs-role-" + roleName, 253);

    /// <summary>A task id from a Pod's uid (a Deployment's Pods become the service's tasks): 32 hex digits, as ECS's.</summary>
    public static string TaskIdOf(string podUid) => podUid.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant();

    /// <summary>
    /// <paramref name="name"/> as a DNS-1123 label: lower case letters, digits and '-', starting and ending
    /// alphanumeric, at most <paramref name="max"/> characters; a name it had to change gets a hash of the original.
    /// </summary>
    public static string Dns1123(string name, int max)
    {
        var safe = new StringBuilder(name.Length);
        foreach (var c in name.ToLowerInvariant())
        {
            safe.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' ? c : '-');
        }

        var result = safe.ToString().Trim('-');
        if (result == name && result.Length <= max)
        {
            return result;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..8];
        var head = result[..Math.Min(result.Length, max - hash.Length - 1)].TrimEnd('-');
        return head.Length == 0 ? "x-" + hash : head + "-" + hash;
    }
}
