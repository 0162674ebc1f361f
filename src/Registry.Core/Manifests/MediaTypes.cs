namespace Registry.Core.Manifests;

/// <summary>Media types the registry understands as manifests (OCI image spec and Docker schema 2).</summary>
public static class MediaTypes
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string OciEmpty = "application/vnd.oci.empty.v1+json";

    public static readonly IReadOnlyList<string> Manifests = [OciManifest, OciIndex, DockerManifest, DockerManifestList];

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    public static bool IsManifest(string mediaType) => mediaType is OciManifest or OciIndex or DockerManifest or DockerManifestList;

    /// <summary>
    /// Layers a client fetches from elsewhere (their <c>urls</c>); a registry need not hold them.
    /// </summary>
    public static bool IsForeignLayer(string mediaType) =>
        mediaType.StartsWith("application/vnd.oci.image.layer.nondistributable.", StringComparison.Ordinal)
        || mediaType == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}
