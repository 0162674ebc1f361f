using System.Net;
using System.Net.Http.Headers;
using Registry.Tests.Support;

namespace Registry.Tests.Distribution;

/// <summary>Run against each metadata database: see the subclasses at the end.</summary>
public abstract class BlobTests(RegistryFixture registry)
{
    private readonly HttpClient _client = registry.CreateClient();

    [SkippableFact]
    public async Task Head_reports_size_and_digest_without_body()
    {
        var repository = OciTestClient.UniqueRepository("blobs");
        var blob = OciTestClient.RandomBytes(777);
        var digest = await _client.PushBlobAsync(repository, blob);

        var response = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(777, response.Content.Headers.ContentLength);
        Assert.Equal(digest, response.Header("Docker-Content-Digest"));
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [SkippableFact]
    public async Task Range_request_returns_206_with_the_slice()
    {
        var repository = OciTestClient.UniqueRepository("blobs");
        var blob = OciTestClient.RandomBytes(1000);
        var digest = await _client.PushBlobAsync(repository, blob);
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repository}/blobs/{digest}");
        request.Headers.Range = new RangeHeaderValue(100, 199);

        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(blob[100..200], await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("bytes 100-199/1000", response.Content.Headers.ContentRange!.ToString());
    }

    [SkippableFact]
    public async Task Range_beyond_the_size_is_416()
    {
        var repository = OciTestClient.UniqueRepository("blobs");
        var digest = await _client.PushBlobAsync(repository, OciTestClient.RandomBytes(100));
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repository}/blobs/{digest}");
        request.Headers.Range = new RangeHeaderValue(500, 600);

        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */100", response.Content.Headers.ContentRange!.ToString());
    }

    [SkippableFact]
    public async Task Unknown_blob_is_404_blob_unknown()
    {
        var repository = OciTestClient.UniqueRepository("blobs");
        var response = await _client.GetAsync($"/v2/{repository}/blobs/{OciTestClient.DigestOf([1, 2, 3])}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("BLOB_UNKNOWN", await response.ErrorCodeAsync());
    }

    [SkippableTheory]
    [InlineData("sha256:totallywrong")]
    [InlineData("sha256:0123")]
    [InlineData("sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709")]
    public async Task Malformed_digest_is_400_digest_invalid(string digest)
    {
        var response = await _client.GetAsync($"/v2/blobs-test/app/blobs/{digest}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("DIGEST_INVALID", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Blob_is_readable_only_from_repositories_that_link_it()
    {
        var owner = OciTestClient.UniqueRepository("blobs");
        var digest = await _client.PushBlobAsync(owner, OciTestClient.RandomBytes(50));

        var response = await _client.GetAsync($"/v2/{OciTestClient.UniqueRepository("blobs")}/blobs/{digest}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [SkippableFact]
    public async Task Delete_unlinks_the_blob_immediately()
    {
        var repository = OciTestClient.UniqueRepository("blobs");
        var digest = await _client.PushBlobAsync(repository, OciTestClient.RandomBytes(50));

        Assert.Equal(HttpStatusCode.Accepted, (await _client.DeleteAsync($"/v2/{repository}/blobs/{digest}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v2/{repository}/blobs/{digest}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.DeleteAsync($"/v2/{repository}/blobs/{digest}")).StatusCode);
    }

    [SkippableFact]
    public async Task Pushing_the_same_blob_concurrently_is_safe()
    {
        var repository = OciTestClient.UniqueRepository("blobs");
        var blob = OciTestClient.RandomBytes(200_000);

        var digests = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _client.PushBlobAsync(repository, blob)));

        Assert.All(digests, d => Assert.Equal(OciTestClient.DigestOf(blob), d));
        Assert.Equal(blob, await _client.GetByteArrayAsync($"/v2/{repository}/blobs/{digests[0]}"));
    }
}

public sealed class BlobTestsOnSqlite(RegistryFixture registry) : BlobTests(registry), IClassFixture<RegistryFixture>;

public sealed class BlobTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : BlobTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
