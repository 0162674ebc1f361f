using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Registry.Tests.Support;

namespace Registry.Tests.Distribution;

/// <summary>Run against each metadata database: see the subclasses at the end.</summary>
public abstract class ManifestTests(RegistryFixture registry)
{
    private readonly HttpClient _client = registry.CreateClient();

    [SkippableFact]
    public async Task Put_by_tag_then_get_by_tag_and_digest_returns_the_exact_bytes()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        var (manifest, digest) = await _client.PushImageAsync(repository, "v1");

        foreach (var reference in new[] { "v1", digest })
        {
            var response = await _client.GetAsync($"/v2/{repository}/manifests/{reference}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(OciTestClient.OciManifest, response.Content.Headers.ContentType!.MediaType);
            Assert.Equal(digest, response.Header("Docker-Content-Digest"));
            Assert.Equal(manifest, await response.Content.ReadAsByteArrayAsync());
        }
    }

    [SkippableFact]
    public async Task Put_returns_location_and_digest_of_the_bytes_as_sent()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        var config = await _client.PushBlobAsync(repository, "{}"u8.ToArray());
        // Whitespace and an unknown field: the digest is of these bytes, never a re-serialization.
        var manifest = Encoding.UTF8.GetBytes($"{{\n\t\"schemaVersion\": 2,\n\t\"mediaType\": \"{OciTestClient.OciManifest}\",\n\t\"config\": {{\"mediaType\": \"application/vnd.oci.empty.v1+json\", \"digest\": \"{config}\", \"size\": 2, \"newUnspecifiedField\": \"aGVsbG8=\"}},\n\t\"layers\": []\n}}");

        var response = await _client.PutManifestAsync(repository, "exact", manifest);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var digest = OciTestClient.DigestOf(manifest);
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        Assert.Equal($"/v2/{repository}/manifests/{digest}", response.Headers.Location!.OriginalString);
        Assert.Equal(manifest, await _client.GetByteArrayAsync($"/v2/{repository}/manifests/exact"));
    }

    [SkippableFact]
    public async Task Head_returns_headers_only()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        var (manifest, digest) = await _client.PushImageAsync(repository, "v1");

        var response = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/manifests/v1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(manifest.Length, response.Content.Headers.ContentLength);
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
    }

    [SkippableFact]
    public async Task Put_by_digest_must_match_the_content()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        var (manifest, _) = await _client.PushImageAsync(repository, "v1");
        var wrongDigest = OciTestClient.DigestOf(OciTestClient.RandomBytes(10));

        var response = await _client.PutManifestAsync(repository, wrongDigest, manifest);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("DIGEST_INVALID", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Manifest_naming_an_unknown_blob_is_rejected()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        var config = await _client.PushBlobAsync(repository, "{}"u8.ToArray());
        var manifest = OciTestClient.ImageManifest(config, 2, [(OciTestClient.DigestOf(OciTestClient.RandomBytes(5)), 5)]);

        var response = await _client.PutManifestAsync(repository, "v1", manifest);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("MANIFEST_BLOB_UNKNOWN", await response.ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v2/{repository}/manifests/v1")).StatusCode);
    }

    [SkippableFact]
    public async Task Descriptor_size_must_match_the_blob()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        var config = await _client.PushBlobAsync(repository, "{}"u8.ToArray());

        var response = await _client.PutManifestAsync(repository, "v1", OciTestClient.ImageManifest(config, 3, []));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("MANIFEST_INVALID", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Index_naming_an_unknown_manifest_is_rejected()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        var index = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{OciTestClient.OciIndex}\",\"manifests\":[{{\"mediaType\":\"{OciTestClient.OciManifest}\",\"digest\":\"{OciTestClient.DigestOf([9])}\",\"size\":1}}]}}");

        var response = await _client.PutManifestAsync(repository, "multi", index, OciTestClient.OciIndex);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("MANIFEST_UNKNOWN", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Index_of_pushed_manifests_is_accepted_and_served_as_an_index()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        var (amd64, amd64Digest) = await _client.PushImageAsync(repository, "amd64");
        var (arm64, arm64Digest) = await _client.PushImageAsync(repository, "arm64");
        var index = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{OciTestClient.OciIndex}\",\"manifests\":[" +
            $"{{\"mediaType\":\"{OciTestClient.OciManifest}\",\"digest\":\"{amd64Digest}\",\"size\":{amd64.Length},\"platform\":{{\"architecture\":\"amd64\",\"os\":\"linux\"}}}}," +
            $"{{\"mediaType\":\"{OciTestClient.OciManifest}\",\"digest\":\"{arm64Digest}\",\"size\":{arm64.Length},\"platform\":{{\"architecture\":\"arm64\",\"os\":\"linux\"}}}}]}}");

        var response = await _client.PutManifestAsync(repository, "multi", index, OciTestClient.OciIndex);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var get = await _client.GetAsync($"/v2/{repository}/manifests/multi");
        Assert.Equal(OciTestClient.OciIndex, get.Content.Headers.ContentType!.MediaType);
        Assert.Equal(index, await get.Content.ReadAsByteArrayAsync());
    }

    [SkippableFact]
    public async Task Docker_schema2_manifest_and_list_are_accepted()
    {
        const string dockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
        const string dockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
        var repository = OciTestClient.UniqueRepository("manifests");
        var config = await _client.PushBlobAsync(repository, "{\"os\":\"linux\"}"u8.ToArray());
        var layer = OciTestClient.RandomBytes(10);
        var layerDigest = await _client.PushBlobAsync(repository, layer);
        var manifest = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{dockerManifest}\",\"config\":{{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"{config}\",\"size\":14}},\"layers\":[{{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"{layerDigest}\",\"size\":10}}]}}");
        Assert.Equal(HttpStatusCode.Created, (await _client.PutManifestAsync(repository, "docker", manifest, dockerManifest)).StatusCode);

        var list = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{dockerList}\",\"manifests\":[{{\"mediaType\":\"{dockerManifest}\",\"digest\":\"{OciTestClient.DigestOf(manifest)}\",\"size\":{manifest.Length},\"platform\":{{\"architecture\":\"amd64\",\"os\":\"linux\"}}}}]}}");
        Assert.Equal(HttpStatusCode.Created, (await _client.PutManifestAsync(repository, "list", list, dockerList)).StatusCode);

        Assert.Equal(dockerList, (await _client.GetAsync($"/v2/{repository}/manifests/list")).Content.Headers.ContentType!.MediaType);
    }

    [SkippableFact]
    public async Task Non_json_manifest_is_manifest_invalid()
    {
        var response = await _client.PutManifestAsync(OciTestClient.UniqueRepository("manifests"), "bad", "blablabla"u8.ToArray());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("MANIFEST_INVALID", await response.ErrorCodeAsync());
    }

    [SkippableTheory]
    [InlineData("{\"schemaVersion\":2,\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":1,\"config\":{\"mediaType\":\"a\",\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2},\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a\",\"digest\":\"sha256:nope\",\"size\":2},\"layers\":[]}")]
    [InlineData("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a\",\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":-1},\"layers\":[]}")]
    [InlineData("[1,2,3]")]
    public async Task Structurally_invalid_manifest_is_manifest_invalid(string manifest)
    {
        var response = await _client.PutManifestAsync(OciTestClient.UniqueRepository("manifests"), "bad", Encoding.UTF8.GetBytes(manifest));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("MANIFEST_INVALID", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Body_media_type_must_agree_with_content_type()
    {
        var manifest = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"{OciTestClient.OciIndex}\",\"manifests\":[]}}");

        var response = await _client.PutManifestAsync(OciTestClient.UniqueRepository("manifests"), "mismatch", manifest, OciTestClient.OciManifest);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("MANIFEST_INVALID", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Unsupported_media_type_is_415_unsupported()
    {
        var response = await _client.PutManifestAsync(OciTestClient.UniqueRepository("manifests"), "v1", "{\"schemaVersion\":2}"u8.ToArray(), "application/vnd.example.thing+json");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("UNSUPPORTED", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Manifest_over_the_cap_is_413()
    {
        var huge = new byte[4 * 1024 * 1024 + 1];
        Array.Fill(huge, (byte)' ');

        var response = await _client.PutManifestAsync(OciTestClient.UniqueRepository("manifests"), "huge", huge);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("SIZE_INVALID", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Manifest_over_the_cap_without_content_length_is_413()
    {
        var huge = new byte[4 * 1024 * 1024 + 1];
        Array.Fill(huge, (byte)' ');
        var content = new StreamContent(new NonSeekableStream(huge));
        content.Headers.ContentType = new MediaTypeHeaderValue(OciTestClient.OciManifest);

        var response = await _client.PutAsync($"/v2/{OciTestClient.UniqueRepository("manifests")}/manifests/huge", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [SkippableTheory]
    [InlineData(".INVALID_MANIFEST_NAME")]
    [InlineData("nope")]
    public async Task Unknown_or_invalid_tag_is_404_manifest_unknown(string reference)
    {
        var response = await _client.GetAsync($"/v2/{OciTestClient.UniqueRepository("manifests")}/manifests/{reference}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("MANIFEST_UNKNOWN", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Malformed_digest_reference_is_400_digest_invalid()
    {
        var response = await _client.GetAsync($"/v2/{OciTestClient.UniqueRepository("manifests")}/manifests/sha256:totallywrong");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("DIGEST_INVALID", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Put_with_invalid_tag_is_tag_invalid()
    {
        var response = await _client.PutManifestAsync(OciTestClient.UniqueRepository("manifests"), "-bad", "{}"u8.ToArray());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("TAG_INVALID", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Tag_overwrite_moves_the_tag()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        await _client.PushImageAsync(repository, "latest");
        var (_, second) = await _client.PushImageAsync(repository, "latest");

        var response = await _client.GetAsync($"/v2/{repository}/manifests/latest");

        Assert.Equal(second, response.Header("Docker-Content-Digest"));
    }

    [SkippableFact]
    public async Task Served_manifests_reflect_later_tag_moves_and_deletes()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        var (_, first) = await _client.PushImageAsync(repository, "latest");
        Assert.Equal(first, (await _client.GetAsync($"/v2/{repository}/manifests/latest")).Header("Docker-Content-Digest"));
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v2/{repository}/manifests/{first}")).StatusCode);

        var (_, second) = await _client.PushImageAsync(repository, "latest");
        Assert.Equal(second, (await _client.GetAsync($"/v2/{repository}/manifests/latest")).Header("Docker-Content-Digest"));

        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repository}/manifests/{first}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v2/{repository}/manifests/{first}")).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repository}/manifests/latest")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v2/{repository}/manifests/latest")).StatusCode);
    }

    [SkippableFact]
    public async Task Deleting_a_tag_keeps_the_manifest()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        var (_, digest) = await _client.PushImageAsync(repository, "v1");

        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repository}/manifests/v1")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v2/{repository}/manifests/v1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v2/{repository}/manifests/{digest}")).StatusCode);
    }

    [SkippableFact]
    public async Task Deleting_a_manifest_removes_its_tags()
    {
        var repository = OciTestClient.UniqueRepository("manifests");
        var (_, digest) = await _client.PushImageAsync(repository, "v1");
        await _client.PushImageAsync(repository, "v2");

        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repository}/manifests/{digest}")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v2/{repository}/manifests/{digest}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v2/{repository}/manifests/v1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.DeleteAsync($"/v2/{repository}/manifests/{digest}")).StatusCode);
        var tags = await _client.GetStringAsync($"/v2/{repository}/tags/list");
        Assert.Contains("\"v2\"", tags, StringComparison.Ordinal);
        Assert.DoesNotContain("\"v1\"", tags, StringComparison.Ordinal);
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}

public sealed class ManifestTestsOnSqlite(RegistryFixture registry) : ManifestTests(registry), IClassFixture<RegistryFixture>;

public sealed class ManifestTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : ManifestTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
