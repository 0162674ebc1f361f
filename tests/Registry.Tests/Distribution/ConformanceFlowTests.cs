using System.Net;
using System.Text;
using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.Distribution;

/// <summary>
/// The OCI conformance suite's content-discovery and content-management workflows, replayed in the
/// suite's order with its data shapes (it cannot be built offline; conformance/run.sh runs the real one).
/// </summary>
/// <summary>Run against each metadata database: see the subclasses at the end.</summary>
public abstract class ConformanceFlowTests(RegistryFixture registry)
{
    private const string TypeA = "application/vnd.nhl.peanut.butter.bagel";
    private const string TypeB = "application/vnd.nba.strawberry.jam.croissant";
    private const string TypeIndex = "application/vnd.food.stand";
    private const string Annotation = "org.opencontainers.conformance.test";

    private readonly HttpClient _client = registry.CreateClient();

    [SkippableFact]
    public async Task Content_discovery_referrers_workflow()
    {
        var name = OciTestClient.UniqueRepository("conformance");
        var empty = await _client.PushBlobAsync(name, "{}"u8.ToArray());
        var blobA = await _client.PushBlobAsync(name, "NHL Peanut Butter on my NHL bagel"u8.ToArray());
        var subject = await SubjectManifestAsync(name);
        var missingSubject = OciTestClient.DigestOf(Encoding.UTF8.GetBytes("manifests[3] is never pushed"));

        var aConfig = Manifest(configType: TypeA, configDigest: blobA, configSize: 33, layers: [(empty, 2, "application/vnd.oci.empty.v1+json")], subject, annotation: "test config a");
        var aLayer = Manifest(configType: "application/vnd.oci.empty.v1+json", configDigest: empty, configSize: 2, layers: [(blobA, 33, TypeA)], subject, annotation: "test layer a", artifactType: TypeA);
        await PutReferrerAsync(name, aConfig, subject.Digest);
        await PutReferrerAsync(name, aLayer, subject.Digest);
        var index = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciTestClient.OciIndex,
            ["artifactType"] = TypeIndex,
            ["manifests"] = new[] { Descriptor(aConfig), Descriptor(aLayer) },
            ["subject"] = new { mediaType = OciTestClient.OciManifest, digest = subject.Digest, size = subject.Size },
            ["annotations"] = new Dictionary<string, string> { [Annotation] = "test index" },
        }));
        await PutReferrerAsync(name, index, subject.Digest, OciTestClient.OciIndex);

        var blobB = await _client.PushBlobAsync(name, "NBA Strawberry Jam on my NBA croissant"u8.ToArray());
        await PutReferrerAsync(name, Manifest(TypeB, blobB, 38, [(empty, 2, "application/vnd.oci.empty.v1+json")], subject, "test config b"), subject.Digest);
        await PutReferrerAsync(name, Manifest("application/vnd.oci.empty.v1+json", empty, 2, [(blobB, 38, TypeB)], subject, "test layer b", TypeB), subject.Digest);
        var c = Manifest("application/vnd.oci.empty.v1+json", empty, 2, [(blobB, 38, TypeB)], (missingSubject, 100), null, TypeB);
        await PutReferrerAsync(name, c, missingSubject);

        var all = await ReferrersAsync($"/v2/{name}/referrers/{subject.Digest}");
        Assert.Equal(5, all.Count);
        Assert.All(all, d => Assert.Single(d.GetProperty("annotations").EnumerateObject(), p => p.Name == Annotation));
        Assert.Contains(all, d => d.GetProperty("mediaType").GetString() == OciTestClient.OciIndex && d.GetProperty("artifactType").GetString() == TypeIndex);

        var filtered = await _client.GetAsync($"/v2/{name}/referrers/{subject.Digest}?artifactType={TypeA}");
        Assert.Equal("artifactType", filtered.Header("OCI-Filters-Applied"));
        Assert.Equal(2, (await ReferrersAsync(filtered)).Count);

        var ofMissing = await ReferrersAsync($"/v2/{name}/referrers/{missingSubject}");
        Assert.Equal(OciTestClient.DigestOf(c), Assert.Single(ofMissing).GetProperty("digest").GetString());

        // Teardown deletes the index before the manifests it lists, then repeats deletes.
        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{name}/manifests/{OciTestClient.DigestOf(index)}")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{name}/manifests/{OciTestClient.DigestOf(aConfig)}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.DeleteAsync($"/v2/{name}/manifests/{OciTestClient.DigestOf(index)}")).StatusCode);
    }

    [SkippableFact]
    public async Task Content_management_workflow()
    {
        var name = OciTestClient.UniqueRepository("conformance");
        var (_, digest) = await _client.PushImageAsync(name, "tagtest0");
        var (other, _) = await _client.PushImageAsync(name, "test0");
        await _client.PutManifestAsync(name, "test1", other);
        var before = await TagCountAsync(name);

        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{name}/manifests/tagtest0")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{name}/manifests/{digest}")).StatusCode);
        var gone = await _client.GetAsync($"/v2/{name}/manifests/{digest}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("MANIFEST_UNKNOWN", await gone.ErrorCodeAsync());
        Assert.Equal(before - 1, await TagCountAsync(name));
    }

    [SkippableFact]
    public async Task Push_workflow_accepts_a_manifest_without_media_type_or_layers()
    {
        var name = OciTestClient.UniqueRepository("conformance");
        var config = Encoding.UTF8.GetBytes("{\n\t\"author\": \"x\",\n\t\"architecture\": \"amd64\",\n\t\"os\": \"linux\",\n\t\"rootfs\": {\"type\": \"layers\", \"diff_ids\": []}\n}");
        var configDigest = await _client.PushBlobAsync(name, config);
        var manifest = Encoding.UTF8.GetBytes($"{{\n\t\"schemaVersion\": 2,\n\t\"config\": {{\n\t\t\"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n\t\t\"digest\": \"{configDigest}\",\n\t\t\"size\": {config.Length},\n\t\t\"data\": \"{Convert.ToBase64String(config)}\",\n\t\t\"newUnspecifiedField\": \"aGVsbG8gd29ybGQ=\"\n\t}},\n\t\"layers\": []\n}}");

        var response = await _client.PutManifestAsync(name, "emptylayer", manifest);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(manifest, await _client.GetByteArrayAsync($"/v2/{name}/manifests/emptylayer"));
    }

    private async Task<(string Digest, long Size)> SubjectManifestAsync(string name)
    {
        var (manifest, digest) = await _client.PushImageAsync(name, "tagtest0");
        return (digest, manifest.Length);
    }

    private static byte[] Manifest(string configType, string configDigest, long configSize, (string Digest, long Size, string MediaType)[] layers, (string Digest, long Size) subject, string? annotation, string? artifactType = null)
    {
        var manifest = new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciTestClient.OciManifest,
            ["config"] = new { mediaType = configType, digest = configDigest, size = configSize },
            ["layers"] = layers.Select(l => new { mediaType = l.MediaType, digest = l.Digest, size = l.Size }).ToArray(),
            ["subject"] = new { mediaType = OciTestClient.OciManifest, digest = subject.Digest, size = subject.Size },
        };
        if (artifactType is not null)
        {
            manifest["artifactType"] = artifactType;
        }

        if (annotation is not null)
        {
            manifest["annotations"] = new Dictionary<string, string> { [Annotation] = annotation };
        }

        return JsonSerializer.SerializeToUtf8Bytes(manifest);
    }

    private static object Descriptor(byte[] manifest) =>
        new { mediaType = OciTestClient.OciManifest, digest = OciTestClient.DigestOf(manifest), size = manifest.Length };

    private async Task PutReferrerAsync(string name, byte[] manifest, string subject, string mediaType = OciTestClient.OciManifest)
    {
        var response = await _client.PutManifestAsync(name, OciTestClient.DigestOf(manifest), manifest, mediaType);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(subject, response.Header("OCI-Subject"));
    }

    private async Task<List<JsonElement>> ReferrersAsync(string url) => await ReferrersAsync(await _client.GetAsync(url));

    private static async Task<List<JsonElement>> ReferrersAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(OciTestClient.OciIndex, response.Content.Headers.ContentType!.ToString());
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("manifests").EnumerateArray().ToList();
    }

    private async Task<int> TagCountAsync(string name)
    {
        using var json = JsonDocument.Parse(await _client.GetStringAsync($"/v2/{name}/tags/list"));
        return json.RootElement.GetProperty("tags").GetArrayLength();
    }
}

public sealed class ConformanceFlowTestsOnSqlite(RegistryFixture registry) : ConformanceFlowTests(registry), IClassFixture<RegistryFixture>;

public sealed class ConformanceFlowTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : ConformanceFlowTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
