using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Registry.Auth;
using Registry.Tests.Support;

namespace Registry.Tests.Auth;

/// <summary>Run against each metadata database: see the subclasses at the end.</summary>
public abstract class TokenFlowTests(RegistryFixture registry)
{
    [SkippableFact]
    public async Task Anonymous_request_is_challenged_with_realm_service_and_scope()
    {
        var response = await registry.CreateAnonymousClient().GetAsync("/v2/library/app/tags/list");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("UNAUTHORIZED", await response.ErrorCodeAsync());
        var challenge = response.Headers.WwwAuthenticate.Single();
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Contains("realm=\"http://localhost/token\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains("service=\"registry\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains("scope=\"repository:library/app:pull\"", challenge.Parameter, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Token_grants_access_within_its_scope()
    {
        var repository = OciTestClient.UniqueRepository("token");
        var client = await ClientWithTokenAsync($"repository:{repository}:pull,push");

        var (_, digest) = await client.PushImageAsync(repository, "v1");

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v2/{repository}/manifests/{digest}")).StatusCode);
    }

    [SkippableFact]
    public async Task Pull_token_cannot_push()
    {
        var repository = OciTestClient.UniqueRepository("token");
        var client = await ClientWithTokenAsync($"repository:{repository}:pull");

        var response = await client.PostAsync($"/v2/{repository}/blobs/uploads/", null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("insufficient_scope", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Contains($"scope=\"repository:{repository}:push\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Token_for_one_repository_does_not_open_another()
    {
        var client = await ClientWithTokenAsync("repository:team/a:pull,push");

        var response = await client.PostAsync("/v2/team/b/blobs/uploads/", null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("UNAUTHORIZED", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Wrong_password_gets_no_token()
    {
        var client = registry.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = RegistryFixture.Basic("admin", "wrong");

        var response = await client.GetAsync("/token?service=registry&scope=repository:a/b:pull");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [SkippableFact]
    public async Task Wrong_basic_credentials_on_v2_are_401()
    {
        var client = registry.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = RegistryFixture.Basic("admin", "wrong");

        var response = await client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("UNAUTHORIZED", await response.ErrorCodeAsync());
    }

    [SkippableFact]
    public async Task Unknown_user_is_401()
    {
        var client = registry.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = RegistryFixture.Basic("nobody", RegistryFixture.AdminPassword);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v2/")).StatusCode);
    }

    [SkippableFact]
    public async Task Expired_token_is_rejected()
    {
        var issuer = new TokenIssuer(
            Microsoft.Extensions.Options.Options.Create(new AuthOptions { TokenLifetime = TimeSpan.FromMinutes(5) }),
            registry.Services.GetRequiredService<SigningKey>(),
            new ShiftedClock(TimeSpan.FromHours(-1)));
        var (token, _, _) = issuer.Issue("admin", [new AccessScope("repository", "any/repo", ["pull"])]);
        var client = registry.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var response = await client.GetAsync("/v2/any/repo/tags/list");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Token_signed_by_another_key_is_rejected()
    {
        var otherKey = new SigningKey(Path.Combine(Path.GetTempPath(), $"other-key-{Guid.NewGuid():N}.pem"));
        var issuer = new TokenIssuer(Microsoft.Extensions.Options.Options.Create(new AuthOptions()), otherKey, TimeProvider.System);
        var (token, _, _) = issuer.Issue("admin", [new AccessScope("repository", "any/repo", ["pull"])]);
        var client = registry.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v2/any/repo/tags/list")).StatusCode);
    }

    [SkippableFact]
    public async Task Oauth_password_grant_issues_a_token()
    {
        var client = registry.CreateAnonymousClient();
        var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["username"] = "admin",
            ["password"] = RegistryFixture.AdminPassword,
            ["service"] = "registry",
            ["scope"] = "repository:oauth/app:pull",
            ["client_id"] = "test",
        });

        var response = await client.PostAsync("/token", form);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("access_token").GetString()));
    }

    [SkippableFact]
    public async Task Admin_password_file_is_not_written_when_password_is_configured()
    {
        await registry.CreateClient().GetAsync("/v2/");

        Assert.False(File.Exists(Path.Combine(registry.DataPath, "admin-password")));
    }

    [SkippableFact]
    public async Task Concurrent_sign_ins_of_a_new_user_each_get_their_own_answer()
    {
        var user = "burst-" + Guid.NewGuid().ToString("N")[..8];
        var created = await registry.CreateClient().PostAsJsonAsync("/admin/v1/users", new { name = user, password = "burst-password-1" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        async Task<HttpStatusCode> SignInAsync(string password)
        {
            var client = registry.CreateAnonymousClient();
            client.DefaultRequestHeaders.Authorization = RegistryFixture.Basic(user, password);
            return (await client.GetAsync("/token?service=registry&scope=repository:a/b:pull")).StatusCode;
        }

        var right = Enumerable.Range(0, 8).Select(_ => SignInAsync("burst-password-1")).ToList();
        var wrong = Enumerable.Range(0, 8).Select(i => SignInAsync("burst-password-" + (i + 2))).ToList();
        await Task.WhenAll(right.Concat(wrong));

        Assert.All(right, r => Assert.Equal(HttpStatusCode.OK, r.Result));
        Assert.All(wrong, r => Assert.Equal(HttpStatusCode.Unauthorized, r.Result));
    }

    private async Task<HttpClient> ClientWithTokenAsync(string scope)
    {
        var tokenClient = registry.CreateClient();
        var response = await tokenClient.GetAsync($"/token?service=registry&scope={Uri.EscapeDataString(scope)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var client = registry.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", json.RootElement.GetProperty("token").GetString());
        return client;
    }

    private sealed class ShiftedClock(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + shift;
    }
}

public sealed class TokenFlowTestsOnSqlite(RegistryFixture registry) : TokenFlowTests(registry), IClassFixture<RegistryFixture>;

public sealed class TokenFlowTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : TokenFlowTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
