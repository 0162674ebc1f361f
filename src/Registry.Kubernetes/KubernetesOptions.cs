namespace Registry.Kubernetes;

/// <summary>
/// The KUBERNETES launch type (section <c>Kubernetes</c>): with a kubeconfig, RunTask and CreateService
/// run on that cluster as Pods and Deployments instead of on the cluster's own agents.
/// </summary>
public sealed class KubernetesOptions
{
    public const string SectionName = "Kubernetes";

    /// <summary>The kubeconfig file; the launch type exists only when it is set.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>The kubeconfig's context to use; its current context when unset.</summary>
    public string? Context { get; set; }

    /// <summary>
    /// Tells this installation's objects from another's in the same namespace (label
    /// <c>registry.ecs/installation</c>): each manages, and deletes, only its own.
    /// </summary>
    public string Installation { get; set; } = "default";

    /// <summary>The namespace every Pod, Deployment, Service and ServiceAccount goes into.</summary>
    public string Namespace { get; set; } = "default";

    /// <summary>
    /// Secrets (type <c>kubernetes.io/dockerconfigjson</c>) the Pods pull their images with, such as a login
    /// to this registry: Kubernetes, not the agent, pulls here.
    /// </summary>
    public List<string> ImagePullSecrets { get; set; } = [];

    /// <summary>How often everything is listed again besides the watch (a missed event costs at most this).</summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromSeconds(10);

    public bool Enabled => !string.IsNullOrWhiteSpace(Kubeconfig);
}
