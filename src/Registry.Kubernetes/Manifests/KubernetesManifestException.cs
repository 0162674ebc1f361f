namespace Registry.Kubernetes.Manifests;

/// <summary>A task definition asks for something a Pod cannot express; the message says what.</summary>
public sealed class KubernetesManifestException(string message) : Exception(message);
