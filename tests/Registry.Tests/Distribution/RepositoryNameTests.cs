using System.Net;
using Registry.Tests.Support;

namespace Registry.Tests.Distribution;

public sealed class RepositoryNameTests(RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private readonly HttpClient _client = registry.CreateClient();

    public static TheoryData<string> InvalidNames => new()
    {
        "Upper/case",
        "a//b",
        "-leading",
        "trailing-",
        new string('a', 256),
        "a/" + new string('b', 254),
    };

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public async Task Invalid_repository_name_is_400_name_invalid(string name)
    {
        var response = await _client.PostAsync($"/v2/{name}/blobs/uploads/", null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("NAME_INVALID", await response.ErrorCodeAsync());
    }

    [Theory]
    [InlineData("/v2/a/../b/blobs/uploads/")]
    [InlineData("/v2/../b/blobs/uploads/")]
    [InlineData("/v2/a/./b/blobs/uploads/")]
    public async Task Dot_segments_in_names_are_400_name_invalid(string path)
    {
        var context = await registry.Server.SendAsync(c =>
        {
            c.Request.Method = "POST";
            c.Request.Path = path;
            c.Request.Headers.Authorization = RegistryFixture.Basic("admin", RegistryFixture.AdminPassword).ToString();
        });

        Assert.Equal(400, context.Response.StatusCode);
    }

    [Fact]
    public async Task Name_of_exactly_255_characters_is_accepted()
    {
        var name = "a/" + new string('b', 253);

        var response = await _client.PostAsync($"/v2/{name}/blobs/uploads/", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task Name_may_contain_segments_that_look_like_endpoints()
    {
        const string name = "team/blobs/manifests";
        var (_, digest) = await _client.PushImageAsync(name, "v1");

        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v2/{name}/manifests/{digest}")).StatusCode);
    }

    [Fact]
    public async Task Version_check_answers_with_api_version_header()
    {
        var response = await _client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("registry/2.0", response.Header("Docker-Distribution-API-Version"));
    }

    [Fact]
    public async Task Wrong_method_is_405_with_allow()
    {
        var response = await _client.PostAsync("/v2/some/repo/manifests/v1", null);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("UNSUPPORTED", await response.ErrorCodeAsync());
        Assert.Contains("PUT", response.Content.Headers.Allow);
    }
}
