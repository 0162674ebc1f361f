using System.Net;
using System.Text;
using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.Distribution;

/// <summary>Run against each metadata database: see the subclasses at the end.</summary>
public abstract class ReferrersTests(RegistryFixture registry)
{
    private const string TypeA = "application/vnd.example.sbom";
    private const string TypeB = "application/vnd.example.signature";

    private readonly HttpClient _client = registry.CreateClient();

    [SkippableFact]
    public async Task Referrers_are_listed_with_artifact_type_and_annotations_and_can_be_filtered()
    {
        var repository = OciTestClient.UniqueRepository("referrers");
        var (subject, subjectDigest) = await _client.PushImageAsync(repository, "app");
        var empty = await _client.PushBlobAsync(repository, "{}"u8.ToArray());

        var byArtifactType = OciTestClient.ImageManifest(empty, 2, [(empty, 2)], subjectDigest, subject.Length, TypeA, "application/vnd.oci.empty.v1+json", new Dictionary<string, string> { ["note"] = "a" });
        var byConfigType = OciTestClient.ImageManifest(empty, 2, [(empty, 2)], subjectDigest, subject.Length, null, TypeB, new Dictionary<string, string> { ["note"] = "b" });
        foreach (var manifest in new[] { byArtifactType, byConfigType })
        {
            var put = await _client.PutManifestAsync(repository, OciTestClient.DigestOf(manifest), manifest);
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.Equal(subjectDigest, put.Header("OCI-Subject"));
        }

        var all = await _client.GetAsync($"/v2/{repository}/referrers/{subjectDigest}");
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        Assert.Equal(OciTestClient.OciIndex, all.Content.Headers.ContentType!.ToString());
        var descriptors = await DescriptorsAsync(all);
        Assert.Equal(2, descriptors.Count);
        var a = descriptors.Single(d => d.GetProperty("digest").GetString() == OciTestClient.DigestOf(byArtifactType));
        Assert.Equal(TypeA, a.GetProperty("artifactType").GetString());
        Assert.Equal(byArtifactType.Length, a.GetProperty("size").GetInt64());
        Assert.Equal("a", a.GetProperty("annotations").GetProperty("note").GetString());
        var b = descriptors.Single(d => d.GetProperty("digest").GetString() == OciTestClient.DigestOf(byConfigType));
        Assert.Equal(TypeB, b.GetProperty("artifactType").GetString());

        var filtered = await _client.GetAsync($"/v2/{repository}/referrers/{subjectDigest}?artifactType={Uri.EscapeDataString(TypeB)}");
        Assert.Equal("artifactType", filtered.Header("OCI-Filters-Applied"));
        Assert.Equal([OciTestClient.DigestOf(byConfigType)], (await DescriptorsAsync(filtered)).Select(d => d.GetProperty("digest").GetString()));
    }

    [SkippableFact]
    public async Task Referrer_of_a_missing_subject_is_accepted_and_listed()
    {
        var repository = OciTestClient.UniqueRepository("referrers");
        var empty = await _client.PushBlobAsync(repository, "{}"u8.ToArray());
        var missingSubject = OciTestClient.DigestOf(Encoding.UTF8.GetBytes("not pushed"));
        var manifest = OciTestClient.ImageManifest(empty, 2, [], missingSubject, 10, TypeA, "application/vnd.oci.empty.v1+json");

        var put = await _client.PutManifestAsync(repository, OciTestClient.DigestOf(manifest), manifest);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(missingSubject, put.Header("OCI-Subject"));
        Assert.Single(await DescriptorsAsync(await _client.GetAsync($"/v2/{repository}/referrers/{missingSubject}")));
    }

    [SkippableFact]
    public async Task Unknown_digest_has_an_empty_index()
    {
        var response = await _client.GetAsync($"/v2/{OciTestClient.UniqueRepository("referrers")}/referrers/{OciTestClient.DigestOf([1])}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await DescriptorsAsync(response));
    }

    [SkippableFact]
    public async Task Malformed_digest_is_400()
    {
        var response = await _client.GetAsync($"/v2/{OciTestClient.UniqueRepository("referrers")}/referrers/sha256:zz");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("DIGEST_INVALID", await response.ErrorCodeAsync());
    }

    private static async Task<List<JsonElement>> DescriptorsAsync(HttpResponseMessage response)
    {
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, json.GetProperty("schemaVersion").GetInt32());
        return json.GetProperty("manifests").EnumerateArray().ToList();
    }
}

public sealed class ReferrersTestsOnSqlite(RegistryFixture registry) : ReferrersTests(registry), IClassFixture<RegistryFixture>;

public sealed class ReferrersTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : ReferrersTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
