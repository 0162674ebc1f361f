using System.Net;
using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.Distribution;

/// <summary>Run against each metadata database: see the subclasses at the end.</summary>
public abstract class ListingTests(RegistryFixture registry)
{
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _client = registry.CreateClient();

    [SkippableFact]
    public async Task Tags_are_listed_in_lexical_order()
    {
        var repository = OciTestClient.UniqueRepository("tags");
        var (manifest, _) = await _client.PushImageAsync(repository, "b");
        foreach (var tag in new[] { "a", "C", "a1" })
        {
            await _client.PutManifestAsync(repository, tag, manifest);
        }

        var tags = await TagsAsync($"/v2/{repository}/tags/list");

        Assert.Equal(["C", "a", "a1", "b"], tags.Tags);
        Assert.Equal(repository, tags.Name);
    }

    [SkippableFact]
    public async Task Tags_paginate_with_n_last_and_link()
    {
        var repository = OciTestClient.UniqueRepository("tags");
        var (manifest, _) = await _client.PushImageAsync(repository, "t0");
        foreach (var tag in new[] { "t1", "t2", "t3", "t4" })
        {
            await _client.PutManifestAsync(repository, tag, manifest);
        }

        var first = await _client.GetAsync($"/v2/{repository}/tags/list?n=2");
        Assert.Equal(["t0", "t1"], (await ReadAsync(first)).Tags);
        Assert.Equal($"</v2/{repository}/tags/list?n=2&last=t1>; rel=\"next\"", first.Header("Link"));

        var second = await TagsAsync($"/v2/{repository}/tags/list?n=2&last=t1");
        Assert.Equal(["t2", "t3"], second.Tags);

        var last = await _client.GetAsync($"/v2/{repository}/tags/list?n=2&last=t3");
        Assert.Equal(["t4"], (await ReadAsync(last)).Tags);
        Assert.Equal("", last.Header("Link"));

        Assert.Empty((await TagsAsync($"/v2/{repository}/tags/list?n=0")).Tags);
    }

    [SkippableTheory]
    [InlineData("-1")]
    [InlineData("ten")]
    public async Task Invalid_n_is_400(string n)
    {
        var repository = OciTestClient.UniqueRepository("tags");
        await _client.PushImageAsync(repository, "t0");

        var response = await _client.GetAsync($"/v2/{repository}/tags/list?n={n}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("PAGINATION_NUMBER_INVALID", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Tags_of_unknown_repository_is_404_name_unknown()
    {
        var response = await _client.GetAsync($"/v2/{OciTestClient.UniqueRepository("tags")}/tags/list");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("NAME_UNKNOWN", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Catalog_lists_repositories_with_pagination()
    {
        var names = new[] { "catalog/a", "catalog/b", "catalog/c" };
        foreach (var name in names)
        {
            await _client.PushImageAsync(name, "v1");
        }

        var first = await _client.GetAsync("/v2/_catalog?n=2&last=catalog/");
        using var json = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
        Assert.Equal(["catalog/a", "catalog/b"], json.RootElement.GetProperty("repositories").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Contains("last=catalog%2Fb", first.Header("Link"), StringComparison.Ordinal);
    }

    private async Task<TagListBody> TagsAsync(string url) => await ReadAsync(await _client.GetAsync(url));

    private static async Task<TagListBody> ReadAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonSerializer.Deserialize<TagListBody>(await response.Content.ReadAsStringAsync(), WebJson)!;
    }

    private sealed record TagListBody(string Name, string[] Tags);
}

public sealed class ListingTestsOnSqlite(RegistryFixture registry) : ListingTests(registry), IClassFixture<RegistryFixture>;

public sealed class ListingTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : ListingTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
