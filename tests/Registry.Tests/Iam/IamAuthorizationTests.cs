using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Audit;
using Registry.Data;
using Registry.Security.Secrets;
using Registry.Tests.Support;

namespace Registry.Tests.Iam;

/// <summary>
/// Every /v2 request is authorized through the policies: identity policies (user and groups),
/// repository policies and the registry policy, managed through the admin API. Run against each
/// metadata database: see the subclasses at the end.
/// </summary>
public abstract class IamAuthorizationTests(RegistryFixture registry)
{
    private const string Account = "000000000000";
    private readonly HttpClient _admin = registry.CreateClient();

    [SkippableFact]
    public async Task A_user_without_policies_is_denied_and_nothing_is_written()
    {
        var repository = OciTestClient.UniqueRepository("iam");
        var (user, client) = await CreateUserAsync();

        var start = await client.PostAsync($"/v2/{repository}/blobs/uploads/", null);

        Assert.Equal(HttpStatusCode.Forbidden, start.StatusCode);
        Assert.Equal("DENIED", await start.ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.GetAsync($"/v2/{repository}/tags/list")).StatusCode);
        var token = await TokenAsync(client, $"repository:{repository}:pull,push");
        Assert.Empty(token.Access);
        Assert.Contains(user, token.Subject, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_group_policy_allows_exactly_its_actions_and_the_token_grants_only_those()
    {
        var repository = OciTestClient.UniqueRepository("iam-team");
        var (_, image) = await _admin.PushImageAsync(repository, "v1");
        var (user, client) = await CreateUserAsync();
        var policy = "pull-" + Guid.NewGuid().ToString("N")[..8];
        await CreatePolicyAsync(policy, $$$$"""
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"],
              "Resource":"arn:aws:ecr:us-east-1:{{{{Account}}}}:repository/iam-team/*"}]}
            """);
        var group = "readers-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await _admin.PostAsJsonAsync("/admin/v1/groups", new { name = group })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.PutAsync($"/admin/v1/groups/{group}/members/{user}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.PutAsync($"/admin/v1/groups/{group}/policies/{policy}", null)).StatusCode);

        await client.PullVerifiedAsync(repository, image);
        var push = await client.PostAsync($"/v2/{repository}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Forbidden, push.StatusCode);
        var list = await client.GetAsync($"/v2/{repository}/tags/list");
        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);

        var token = await TokenAsync(client, $"repository:{repository}:pull,push");
        Assert.Equal(["pull"], token.Access);
        var bearer = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repository}/manifests/v1");
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        Assert.Equal(HttpStatusCode.OK, (await registry.CreateAnonymousClient().SendAsync(bearer)).StatusCode);
    }

    [SkippableFact]
    public async Task Attaching_and_detaching_a_policy_applies_to_the_very_next_request()
    {
        var repository = OciTestClient.UniqueRepository("iam");
        await _admin.PushImageAsync(repository, "v1");
        var (user, client) = await CreateUserAsync();
        var policy = "read-" + Guid.NewGuid().ToString("N")[..8];
        await CreatePolicyAsync(policy, """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}]}""");
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"/v2/{repository}/manifests/v1")).StatusCode);

        await _admin.PutAsync($"/admin/v1/users/{user}/policies/{policy}", null);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v2/{repository}/manifests/v1")).StatusCode);

        await _admin.DeleteAsync($"/admin/v1/users/{user}/policies/{policy}");
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"/v2/{repository}/manifests/v1")).StatusCode);
    }

    [SkippableFact]
    public async Task A_repository_policy_lets_a_named_user_pull_that_repository_only()
    {
        var shared = OciTestClient.UniqueRepository("iam");
        var other = OciTestClient.UniqueRepository("iam");
        var (_, image) = await _admin.PushImageAsync(shared, "v1");
        await _admin.PushImageAsync(other, "v1");
        var (user, client) = await CreateUserAsync();

        var set = await _admin.PutAsync($"/admin/v1/repository-policies/{shared}", Json($$$$"""
            {"Version":"2012-10-17","Statement":[{"Sid":"AllowPull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{{{Account}}}}:user/{{{{user}}}}"},
              "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}
            """));
        Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);

        await client.PullVerifiedAsync(shared, image);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"/v2/{other}/manifests/v1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync($"/admin/v1/repository-policies/{shared}")).StatusCode);
    }

    [SkippableFact]
    public async Task A_registry_policy_naming_everyone_allows_anonymous_pull_through_the_token_flow_but_not_push()
    {
        var repository = OciTestClient.UniqueRepository("iam-public");
        var (_, image) = await _admin.PushImageAsync(repository, "v1");
        var anonymous = registry.CreateAnonymousClient();
        Assert.Empty((await TokenAsync(anonymous, $"repository:{repository}:pull")).Access);

        var set = await _admin.PutAsync("/admin/v1/registry-policy", Json("""
            {"Version":"2012-10-17","Statement":[{"Sid":"PublicPull","Effect":"Allow","Principal":"*",
              "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"],
              "Resource":"arn:aws:ecr:*:*:repository/iam-public/*"}]}
            """));
        Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);
        try
        {
            var token = await TokenAsync(anonymous, $"repository:{repository}:pull,push");
            Assert.Equal(["pull"], token.Access);
            var withToken = registry.CreateAnonymousClient();
            withToken.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
            await withToken.PullVerifiedAsync(repository, image);
            var push = await withToken.PostAsync($"/v2/{repository}/blobs/uploads/", null);
            Assert.Equal(HttpStatusCode.Unauthorized, push.StatusCode);
            Assert.Contains("insufficient_scope", push.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync("/admin/v1/registry-policy")).StatusCode);
        }
    }

    [SkippableFact]
    public async Task An_explicit_deny_in_a_repository_policy_beats_the_administrators_allow()
    {
        var repository = OciTestClient.UniqueRepository("iam");
        var (manifest, _) = await _admin.PushImageAsync(repository, "v1");
        await _admin.PutAsync($"/admin/v1/repository-policies/{repository}", Json($$$$"""
            {"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::{{{{Account}}}}:user/admin"},"Action":["ecr:PutImage","ecr:BatchDeleteImage"]}]}
            """));

        var put = await _admin.PutManifestAsync(repository, "v2", manifest);
        var delete = await _admin.DeleteAsync($"/v2/{repository}/manifests/v1");

        Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
        Assert.Equal("DENIED", await put.ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync($"/v2/{repository}/manifests/v1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.GetAsync($"/v2/{repository}/manifests/v2")).StatusCode);
    }

    [SkippableFact]
    public async Task A_cross_repository_mount_needs_pull_on_the_source()
    {
        var source = OciTestClient.UniqueRepository("iam-src");
        var target = OciTestClient.UniqueRepository("iam-dst");
        var digest = await _admin.PushBlobAsync(source, OciTestClient.RandomBytes(100));
        var (user, client) = await CreateUserAsync();
        var policy = "push-" + Guid.NewGuid().ToString("N")[..8];
        await CreatePolicyAsync(policy, $$$$"""
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:InitiateLayerUpload","ecr:UploadLayerPart","ecr:CompleteLayerUpload","ecr:PutImage"],"Resource":"arn:aws:ecr:us-east-1:{{{{Account}}}}:repository/{{{{target}}}}"}]}
            """);
        await _admin.PutAsync($"/admin/v1/users/{user}/policies/{policy}", null);

        var mount = await client.PostAsync($"/v2/{target}/blobs/uploads/?mount={digest}&from={source}", null);

        Assert.Equal(HttpStatusCode.Accepted, mount.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{target}/blobs/{digest}"))).StatusCode);
    }

    [SkippableFact]
    public async Task A_malformed_policy_is_rejected_naming_the_offending_element()
    {
        var response = await _admin.PostAsJsonAsync("/admin/v1/policies", new
        {
            name = "broken-" + Guid.NewGuid().ToString("N")[..8],
            document = """{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"ecr:*","Resource":"*"}]}""",
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("MalformedPolicyDocument", body.RootElement.GetProperty("__type").GetString());
        Assert.StartsWith("Statement[0].Effect:", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task The_admin_api_needs_iam_permissions_and_answers_errors_as_aws_json()
    {
        var (_, client) = await CreateUserAsync();

        var denied = await client.PostAsJsonAsync("/admin/v1/users", new { name = "intruder" });
        var anonymous = await registry.CreateAnonymousClient().GetAsync("/admin/v1/users");
        var missing = await _admin.DeleteAsync("/admin/v1/users/nobody-" + Guid.NewGuid().ToString("N")[..8]);
        var badJson = await _admin.PostAsync("/admin/v1/users", new StringContent("{not json", Encoding.UTF8, "application/json"));
        var badName = await _admin.PostAsJsonAsync("/admin/v1/users", new { name = "has space" });

        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal("AccessDenied", await TypeAsync(denied));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("NoSuchEntity", await TypeAsync(missing));
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal("ValidationError", await TypeAsync(badName));
    }

    [SkippableFact]
    public async Task An_access_key_secret_is_returned_once_and_stored_only_sealed()
    {
        var (user, _) = await CreateUserAsync();

        var created = await _admin.PostAsync($"/admin/v1/users/{user}/access-keys", null);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var id = body.RootElement.GetProperty("accessKeyId").GetString()!;
        var secret = body.RootElement.GetProperty("secretAccessKey").GetString()!;
        Assert.Matches("^AKIA[A-Z2-7]{16}$", id);
        Assert.Equal(40, secret.Length);
        await using var db = await registry.Services.GetRequiredService<IDbContextFactory<RegistryDbContext>>().CreateDbContextAsync();
        var stored = await db.AccessKeys.SingleAsync(k => k.Id == id);
        Assert.DoesNotContain(secret, stored.SealedSecret, StringComparison.Ordinal);
        Assert.Equal(secret, registry.Services.GetRequiredService<SecretSealer>().Open(stored.SealedSecret, id));
        var listed = await _admin.GetStringAsync($"/admin/v1/users/{user}/access-keys");
        Assert.Contains(id, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, listed, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Changes_and_denials_are_in_the_audit_log_with_who_what_where_and_how_it_ended()
    {
        var repository = OciTestClient.UniqueRepository("iam-audit");
        var (user, client) = await CreateUserAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync($"/v2/{repository}/blobs/uploads/", null)).StatusCode);
        await _admin.PushImageAsync(repository, "v1");
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsJsonAsync("/admin/v1/groups", new { name = "nope" })).StatusCode);

        var denied = await AuditAsync($"principal={user}&outcome=Denied", events => events.Count >= 2);
        Assert.Contains(denied, e => e.GetProperty("action").GetString() == "ecr:InitiateLayerUpload"
                                     && e.GetProperty("resource").GetString() == $"arn:aws:ecr:us-east-1:{Account}:repository/{repository}");
        Assert.Contains(denied, e => e.GetProperty("action").GetString() == "iam:CreateGroup");
        var created = await AuditAsync($"principal=admin&action=iam:CreateUser", events => events.Any(e => e.GetProperty("resource").GetString()!.EndsWith("/" + user, StringComparison.Ordinal)));
        Assert.Equal("Allowed", created.First(e => e.GetProperty("resource").GetString()!.EndsWith("/" + user, StringComparison.Ordinal)).GetProperty("outcome").GetString());
        var pushed = await AuditAsync("principal=admin&action=ecr:PutImage", events => events.Any(e => e.GetProperty("resource").GetString()!.EndsWith(repository, StringComparison.Ordinal)));
        Assert.NotEmpty(pushed);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/admin/v1/audit-events")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _admin.GetAsync("/admin/v1/audit-events?limit=0")).StatusCode);
    }

    [SkippableFact]
    public async Task A_burst_of_audit_events_is_stored_whole_with_its_empty_fields_and_times()
    {
        var principal = "burst-" + Guid.NewGuid().ToString("N")[..8];
        var log = registry.Services.GetRequiredService<AuditLog>();
        var context = new DefaultHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, principal)], "test")) };
        var before = DateTime.UtcNow.AddSeconds(-1);
        const int count = 620;
        for (var i = 0; i < count; i++)
        {
            log.Record(context, "ecr:PutImage", $"resource-{i}", "Allowed", i % 2 == 0 ? null : $"detail-{i}");
        }

        var events = new List<JsonElement>();
        string? next = null;
        for (var attempt = 0; attempt < 50 && events.Count < count; attempt++)
        {
            events.Clear();
            next = null;
            do
            {
                var page = $"/admin/v1/audit-events?principal={principal}&since={before:O}&limit=1000" + (next is null ? "" : $"&before={next}");
                using var body = JsonDocument.Parse(await _admin.GetStringAsync(page));
                events.AddRange(body.RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone()));
                next = body.RootElement.GetProperty("next").ValueKind == JsonValueKind.Null ? null : body.RootElement.GetProperty("next").GetRawText();
            }
            while (next is not null);
            if (events.Count < count)
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal(count, events.Count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"resource-{i}").Order(), events.Select(e => e.GetProperty("resource").GetString()!).Order());
        var odd = events.Single(e => e.GetProperty("resource").GetString() == "resource-7");
        Assert.Equal("detail-7", odd.GetProperty("detail").GetString());
        Assert.Equal(JsonValueKind.Null, events.Single(e => e.GetProperty("resource").GetString() == "resource-8").GetProperty("detail").ValueKind);
        Assert.Equal(JsonValueKind.Null, odd.GetProperty("sourceIp").ValueKind);
        Assert.All(events, e => Assert.InRange(e.GetProperty("time").GetDateTime(), before, DateTime.UtcNow.AddSeconds(1)));
        using var later = JsonDocument.Parse(await _admin.GetStringAsync($"/admin/v1/audit-events?principal={principal}&since={DateTime.UtcNow.AddMinutes(1):O}"));
        Assert.Empty(later.RootElement.GetProperty("events").EnumerateArray());
    }

    /// <summary>Audit events matching the query, waiting (events are stored within about a second) until <paramref name="done"/> holds.</summary>
    private async Task<List<JsonElement>> AuditAsync(string query, Func<List<JsonElement>, bool> done)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var body = JsonDocument.Parse(await _admin.GetStringAsync($"/admin/v1/audit-events?{query}"));
            var events = body.RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone()).ToList();
            if (done(events) || attempt == 50)
            {
                return events;
            }

            await Task.Delay(100);
        }
    }

    private async Task<(string User, HttpClient Client)> CreateUserAsync()
    {
        var user = "user-" + Guid.NewGuid().ToString("N")[..8];
        const string password = "user-password-1";
        var created = await _admin.PostAsJsonAsync("/admin/v1/users", new { name = user, password });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var client = registry.CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = RegistryFixture.Basic(user, password);
        return (user, client);
    }

    private async Task CreatePolicyAsync(string name, string document)
    {
        var response = await _admin.PostAsJsonAsync("/admin/v1/policies", new { name, document });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    private static async Task<(string Token, string Subject, List<string> Access)> TokenAsync(HttpClient client, string scope)
    {
        var response = await client.GetAsync($"/token?service=registry&scope={Uri.EscapeDataString(scope)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var token = body.RootElement.GetProperty("token").GetString()!;
        using var claims = JsonDocument.Parse(Base64UrlDecode(token.Split('.')[1]));
        var access = claims.RootElement.TryGetProperty("access", out var entries)
            ? entries.EnumerateArray().SelectMany(e => e.GetProperty("actions").EnumerateArray().Select(a => a.GetString()!)).ToList()
            : [];
        return (token, claims.RootElement.GetProperty("sub").GetString()!, access);
    }

    private static byte[] Base64UrlDecode(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - (padded.Length % 4)) % 4));
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<string?> TypeAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("__type").GetString();
    }
}

public sealed class IamAuthorizationTestsOnSqlite(RegistryFixture registry) : IamAuthorizationTests(registry), IClassFixture<RegistryFixture>;

public sealed class IamAuthorizationTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : IamAuthorizationTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
