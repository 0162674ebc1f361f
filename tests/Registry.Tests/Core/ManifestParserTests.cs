using System.Text;
using Registry.Core.Errors;
using Registry.Core.Manifests;

namespace Registry.Tests.Core;

public sealed class ManifestParserTests
{
    private const string Empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    [Fact]
    public void Media_type_comes_from_content_type_when_the_body_has_none()
    {
        var (manifest, error) = Parse($"{{\"schemaVersion\":2,\"config\":{{\"mediaType\":\"x\",\"digest\":\"{Empty}\",\"size\":2}},\"layers\":[]}}", MediaTypes.OciManifest + "; charset=utf-8");

        Assert.Null(error);
        Assert.Equal(MediaTypes.OciManifest, manifest!.MediaType);
        Assert.Equal("x", manifest.EffectiveArtifactType);
    }

    [Fact]
    public void Artifact_type_wins_over_config_media_type()
    {
        var (manifest, _) = Parse($"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"artifactType\":\"a\",\"config\":{{\"mediaType\":\"x\",\"digest\":\"{Empty}\",\"size\":2}},\"layers\":[]}}", null);

        Assert.Equal("a", manifest!.EffectiveArtifactType);
    }

    [Fact]
    public void Foreign_layers_are_not_required_blobs()
    {
        var json = $"{{\"schemaVersion\":2,\"config\":{{\"mediaType\":\"x\",\"digest\":\"{Empty}\",\"size\":2}},\"layers\":[{{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\"digest\":\"sha256:{new string('1', 64)}\",\"size\":5,\"urls\":[\"https://example.com/l\"]}}]}}";

        var (manifest, _) = Parse(json, MediaTypes.DockerManifest);

        Assert.Single(manifest!.RequiredBlobs);
    }

    [Fact]
    public void Index_lists_child_manifests_and_subject()
    {
        var json = $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciIndex}\",\"manifests\":[{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{Empty}\",\"size\":2}}],\"subject\":{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{Empty}\",\"size\":2}}}}";

        var (manifest, _) = Parse(json, MediaTypes.OciIndex);

        Assert.Single(manifest!.Manifests);
        Assert.Empty(manifest.RequiredBlobs);
        Assert.Equal(Empty, manifest.Subject!.Digest.Value);
    }

    [Theory]
    [InlineData("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" + Empty + "\",\"size\":2},\"layers\":[{\"digest\":\"" + Empty + "\",\"size\":2}]}", "layers[0].mediaType")]
    [InlineData("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" + Empty + "\",\"size\":2},\"layers\":{}}", "layers must be an array")]
    [InlineData("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" + Empty + "\",\"size\":2},\"layers\":[],\"annotations\":{\"a\":1}}", "annotations.a")]
    public void Errors_name_the_offending_element(string json, string expected)
    {
        var (_, error) = Parse(json, MediaTypes.OciManifest);

        Assert.Equal(OciErrorCode.ManifestInvalid, error!.Code);
        Assert.Contains(expected, error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Deeply_nested_json_is_rejected_not_crashing()
    {
        var json = new string('[', 10_000) + new string(']', 10_000);

        var (_, error) = Parse(json, MediaTypes.OciManifest);

        Assert.Equal(OciErrorCode.ManifestInvalid, error!.Code);
    }

    private static (ParsedManifest?, OciError?) Parse(string json, string? contentType) =>
        ManifestParser.Parse(Encoding.UTF8.GetBytes(json), contentType);
}
