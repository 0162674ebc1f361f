using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;

namespace Registry.Kubernetes.Manifests;

/// <summary>
/// A hash of the spec the launcher wants, kept as an annotation on what it applied: a pass replaces an
/// object only when the hash differs, so an unchanged service costs one list, not a write per pass.
/// </summary>
public static class SpecHash
{
    public const string Annotation = "registry.ecs/spec-hash";

    /// <summary>Stamps <paramref name="metadata"/> with the hash of <paramref name="spec"/> and returns it.</summary>
    public static string Stamp(V1ObjectMeta metadata, object spec)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(KubernetesJson.Serialize(spec))))[..16];
        metadata.Annotations ??= new Dictionary<string, string>();
        metadata.Annotations[Annotation] = hash;
        return hash;
    }

    public static bool Matches(V1ObjectMeta? applied, string hash) =>
        applied?.Annotations?.TryGetValue(Annotation, out var current) == true && current == hash;
}
