using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Registry.Auth;
using Registry.Data.Entities;
using Registry.Security.Policies;

namespace Registry.Iam;

/// <summary>
/// The admin HTTP API under <c>/admin/v1</c>: users, access keys, groups, roles, managed policies and
/// their attachments, repository and registry policies. Callers sign in as on <c>/v2</c> (Basic or a
/// token) and each operation is authorized as the IAM or ECR action it is, on the ARN it changes.
/// Errors are AWS-style JSON: <c>{"__type": "NoSuchEntity", "message": "…"}</c>.
/// </summary>
internal static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/admin/v1");
        api.AddEndpointFilter(AuditFilterAsync);
        api.MapGet("/users", (Delegate)((HttpContext c) => Run(c, "iam:ListUsers", Aws(c).UserArn("*"), async (iam, ct) => Ok(new { users = await iam.ListUsersAsync(ct) }))));
        api.MapPost("/users", (Delegate)((HttpContext c) => RunWithBody(c, "iam:CreateUser", b => Aws(c).UserArn(Text(b, "name")), async (iam, body, ct) =>
        {
            var name = Text(body, "name");
            await iam.CreateUserAsync(name, OptionalText(body, "password"), ct);
            return Results.Json(new { name, arn = Aws(c).UserArn(name) }, statusCode: 201);
        })));
        api.MapDelete("/users/{name}", (HttpContext c, string name) => Run(c, "iam:DeleteUser", Aws(c).UserArn(name), async (iam, ct) => { await iam.DeleteUserAsync(name, ct); return Results.NoContent(); }));
        api.MapPut("/users/{name}/password", (HttpContext c, string name) => RunWithBody(c, "iam:UpdateLoginProfile", _ => Aws(c).UserArn(name), async (iam, body, ct) =>
        {
            await iam.SetPasswordAsync(name, Text(body, "password"), ct);
            return Results.NoContent();
        }));

        api.MapPost("/users/{name}/access-keys", (HttpContext c, string name) => Run(c, "iam:CreateAccessKey", Aws(c).UserArn(name), async (iam, ct) =>
        {
            var (id, secret) = await iam.CreateAccessKeyAsync(name, ct);
            return Results.Json(new { userName = name, accessKeyId = id, secretAccessKey = secret, status = "Active" }, statusCode: 201);
        }));
        api.MapGet("/users/{name}/access-keys", (HttpContext c, string name) => Run(c, "iam:ListAccessKeys", Aws(c).UserArn(name), async (iam, ct) =>
            Ok(new { accessKeys = (await iam.ListAccessKeysAsync(name, ct)).Select(k => new { accessKeyId = k.Id, status = k.Status, createDate = k.CreatedAt }) })));
        api.MapPut("/users/{name}/access-keys/{id}", (HttpContext c, string name, string id) => RunWithBody(c, "iam:UpdateAccessKey", _ => Aws(c).UserArn(name), async (iam, body, ct) =>
        {
            var status = Text(body, "status");
            if (status is not ("Active" or "Inactive"))
            {
                throw IamException.Invalid("status must be Active or Inactive");
            }

            await iam.SetAccessKeyStatusAsync(name, id, status == "Active", ct);
            return Results.NoContent();
        }));
        api.MapDelete("/users/{name}/access-keys/{id}", (HttpContext c, string name, string id) => Run(c, "iam:DeleteAccessKey", Aws(c).UserArn(name), async (iam, ct) => { await iam.DeleteAccessKeyAsync(name, id, ct); return Results.NoContent(); }));

        api.MapGet("/groups", (Delegate)((HttpContext c) => Run(c, "iam:ListGroups", Aws(c).GroupArn("*"), async (iam, ct) => Ok(new { groups = await iam.ListGroupsAsync(ct) }))));
        api.MapPost("/groups", (Delegate)((HttpContext c) => RunWithBody(c, "iam:CreateGroup", b => Aws(c).GroupArn(Text(b, "name")), async (iam, body, ct) =>
        {
            var name = Text(body, "name");
            await iam.CreateGroupAsync(name, ct);
            return Results.Json(new { name, arn = Aws(c).GroupArn(name) }, statusCode: 201);
        })));
        api.MapDelete("/groups/{name}", (HttpContext c, string name) => Run(c, "iam:DeleteGroup", Aws(c).GroupArn(name), async (iam, ct) => { await iam.DeleteGroupAsync(name, ct); return Results.NoContent(); }));
        api.MapPut("/groups/{name}/members/{user}", (HttpContext c, string name, string user) => Run(c, "iam:AddUserToGroup", Aws(c).GroupArn(name), async (iam, ct) => { await iam.AddUserToGroupAsync(name, user, ct); return Results.NoContent(); }));
        api.MapDelete("/groups/{name}/members/{user}", (HttpContext c, string name, string user) => Run(c, "iam:RemoveUserFromGroup", Aws(c).GroupArn(name), async (iam, ct) => { await iam.RemoveUserFromGroupAsync(name, user, ct); return Results.NoContent(); }));

        api.MapGet("/roles", (Delegate)((HttpContext c) => Run(c, "iam:ListRoles", Aws(c).RoleArn("*"), async (iam, ct) => Ok(new { roles = await iam.ListRolesAsync(ct) }))));
        api.MapPost("/roles", (Delegate)((HttpContext c) => RunWithBody(c, "iam:CreateRole", b => Aws(c).RoleArn(Text(b, "name")), async (iam, body, ct) =>
        {
            var name = Text(body, "name");
            await iam.CreateRoleAsync(name, OptionalDocument(body, "trustPolicy"), ct);
            return Results.Json(new { name, arn = Aws(c).RoleArn(name) }, statusCode: 201);
        })));
        api.MapDelete("/roles/{name}", (HttpContext c, string name) => Run(c, "iam:DeleteRole", Aws(c).RoleArn(name), async (iam, ct) => { await iam.DeleteRoleAsync(name, ct); return Results.NoContent(); }));

        api.MapGet("/policies", (Delegate)((HttpContext c) => Run(c, "iam:ListPolicies", Aws(c).PolicyArn("*"), async (iam, ct) => Ok(new { policies = await iam.ListPoliciesAsync(ct) }))));
        api.MapPost("/policies", (Delegate)((HttpContext c) => RunWithBody(c, "iam:CreatePolicy", b => Aws(c).PolicyArn(Text(b, "name")), async (iam, body, ct) =>
        {
            var name = Text(body, "name");
            await iam.PutPolicyAsync(name, OptionalDocument(body, "document") ?? throw IamException.Invalid("document is required"), replace: false, ct);
            return Results.Json(new { name, arn = Aws(c).PolicyArn(name) }, statusCode: 201);
        })));
        api.MapGet("/policies/{name}", (HttpContext c, string name) => Run(c, "iam:GetPolicy", Aws(c).PolicyArn(name), async (iam, ct) =>
            Ok(new { name, arn = Aws(c).PolicyArn(name), document = JsonDocument.Parse(await iam.GetPolicyAsync(name, ct)).RootElement })));
        api.MapPut("/policies/{name}", (HttpContext c, string name) => RunWithBody(c, "iam:CreatePolicyVersion", _ => Aws(c).PolicyArn(name), async (iam, body, ct) =>
        {
            await iam.GetPolicyAsync(name, ct);
            await iam.PutPolicyAsync(name, OptionalDocument(body, "document") ?? throw IamException.Invalid("document is required"), replace: true, ct);
            return Results.NoContent();
        }));
        api.MapDelete("/policies/{name}", (HttpContext c, string name) => Run(c, "iam:DeletePolicy", Aws(c).PolicyArn(name), async (iam, ct) => { await iam.DeletePolicyAsync(name, ct); return Results.NoContent(); }));

        foreach (var (segment, kind) in new[] { ("users", PrincipalKind.User), ("groups", PrincipalKind.Group), ("roles", PrincipalKind.Role) })
        {
            var noun = kind.ToString();
            api.MapGet($"/{segment}/{{name}}/policies", (HttpContext c, string name) => Run(c, $"iam:ListAttached{noun}Policies", PrincipalArn(c, kind, name), async (iam, ct) =>
                Ok(new { policies = await iam.ListAttachedPoliciesAsync(kind, name, ct) })));
            api.MapPut($"/{segment}/{{name}}/policies/{{policy}}", (HttpContext c, string name, string policy) => Run(c, $"iam:Attach{noun}Policy", PrincipalArn(c, kind, name), async (iam, ct) =>
            {
                await iam.AttachPolicyAsync(policy, kind, name, ct);
                return Results.NoContent();
            }));
            api.MapDelete($"/{segment}/{{name}}/policies/{{policy}}", (HttpContext c, string name, string policy) => Run(c, $"iam:Detach{noun}Policy", PrincipalArn(c, kind, name), async (iam, ct) =>
            {
                await iam.DetachPolicyAsync(policy, kind, name, ct);
                return Results.NoContent();
            }));
        }

        api.MapGet("/registry-policy", (Delegate)((HttpContext c) => Run(c, "ecr:GetRegistryPolicy", Aws(c).RegistryArn, async (iam, ct) =>
            await iam.GetRegistryPolicyAsync(ct) is { } document ? Results.Text(document, "application/json") : throw IamException.NoSuchEntity("the registry policy"))));
        api.MapPut("/registry-policy", (Delegate)((HttpContext c) => RunWithRawBody(c, "ecr:PutRegistryPolicy", Aws(c).RegistryArn, async (iam, document, ct) =>
        {
            await iam.SetRegistryPolicyAsync(document, ct);
            return Results.NoContent();
        })));
        api.MapDelete("/registry-policy", (Delegate)((HttpContext c) => Run(c, "ecr:DeleteRegistryPolicy", Aws(c).RegistryArn, async (iam, ct) => { await iam.SetRegistryPolicyAsync(null, ct); return Results.NoContent(); })));

        api.MapGet("/repository-policies/{**repository}", (HttpContext c, string repository) => Run(c, "ecr:GetRepositoryPolicy", Aws(c).RepositoryArn(repository), async (iam, ct) =>
            await iam.GetRepositoryPolicyAsync(repository, ct) is { } document ? Results.Text(document, "application/json") : throw new IamException("RepositoryPolicyNotFoundException", $"repository {repository} has no policy", 404)));
        api.MapPut("/repository-policies/{**repository}", (HttpContext c, string repository) => RunWithRawBody(c, "ecr:SetRepositoryPolicy", Aws(c).RepositoryArn(repository), async (iam, document, ct) =>
        {
            await iam.SetRepositoryPolicyAsync(repository, document, ct);
            return Results.NoContent();
        }));
        api.MapDelete("/repository-policies/{**repository}", (HttpContext c, string repository) => Run(c, "ecr:DeleteRepositoryPolicy", Aws(c).RepositoryArn(repository), async (iam, ct) =>
        {
            await iam.SetRepositoryPolicyAsync(repository, null, ct);
            return Results.NoContent();
        }));
        api.MapPost("/lifecycle-runs", (Delegate)((HttpContext c) => RunWithBody(c, "ecr:PutLifecyclePolicy", b => OptionalText(b, "repositoryName") is { } r ? Aws(c).RepositoryArn(r) : Aws(c).RepositoryArn("*"), async (_, body, ct) =>
        {
            var expired = await c.RequestServices.GetRequiredService<Ecr.Lifecycle.LifecycleRunner>().RunAsync(OptionalText(body, "repositoryName"), ct);
            return Ok(new { expired = expired.Select(e => new { repositoryName = e.Repository, imageDigest = e.Digest, imageTags = e.Tags, appliedRulePriority = e.RulePriority }) });
        })));
        api.MapGet("/task-logs/{cluster}/{taskId}", (HttpContext c, string cluster, string taskId) => Run(c, "ecs:DescribeTasks", Aws(c).TaskArn(cluster, taskId), async (_, ct) =>
            await c.RequestServices.GetRequiredService<Ecs.TaskLogs>().FindAsync(cluster, taskId, ct) is { } containers
                ? Ok(new { taskArn = Aws(c).TaskArn(cluster, taskId), containers })
                : Results.Json(new { __type = "InvalidParameterException", message = "The referenced task was not found." }, statusCode: StatusCodes.Status404NotFound)));
        api.MapGet("/target-groups", (Delegate)((HttpContext c) => Run(c, "elasticloadbalancing:DescribeTargetHealth", "*", (_, _) =>
            Task.FromResult(Ok(LoadBalancing.TargetGroupReport.Describe(c.RequestServices.GetRequiredService<LoadBalancing.TargetGroups>(), c.RequestServices.GetRequiredService<LoadBalancing.TargetTable>()))))));
        api.MapGet("/audit-events", (Delegate)((HttpContext c) => Run(c, "cloudtrail:LookupEvents", "*", async (_, ct) =>
            Ok(await c.RequestServices.GetRequiredService<Audit.AuditQuery>().FindAsync(c.Request.Query, ct)))));
        return app;
    }

    /// <summary>Audits every change and every denial made through the admin API, once its answer is known.</summary>
    private static async ValueTask<object?> AuditFilterAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var result = await next(invocation);
        var context = invocation.HttpContext;
        var status = (result as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status200OK;
        if (context.Items[AuditKey] is (string action, string resource) && (!HttpMethods.IsGet(context.Request.Method) || status is 401 or 403))
        {
            context.RequestServices.GetRequiredService<Audit.AuditLog>().Record(context, action, resource, Audit.AuditLog.OutcomeOf(status), $"{context.Request.Method} {status}");
        }

        return result;
    }

    private const string AuditKey = "registry.audit";

    private static AwsOptions Aws(HttpContext context) => context.RequestServices.GetRequiredService<IOptions<AwsOptions>>().Value;

    private static string PrincipalArn(HttpContext context, PrincipalKind kind, string name) => kind switch
    {
        PrincipalKind.User => Aws(context).UserArn(name),
        PrincipalKind.Group => Aws(context).GroupArn(name),
        _ => Aws(context).RoleArn(name),
    };

    private static IResult Ok(object value) => Results.Json(value);

    private static Task<IResult> Run(HttpContext context, string action, string resource, Func<IamService, CancellationToken, Task<IResult>> operation) =>
        Guarded(context, async () => await AuthorizeAsync(context, action, resource) ?? await operation(context.RequestServices.GetRequiredService<IamService>(), context.RequestAborted));

    private static Task<IResult> RunWithBody(HttpContext context, string action, Func<JsonElement, string> resource, Func<IamService, JsonElement, CancellationToken, Task<IResult>> operation) =>
        Guarded(context, async () =>
        {
            using var body = await ReadJsonAsync(context);
            return await AuthorizeAsync(context, action, resource(body.RootElement))
                   ?? await operation(context.RequestServices.GetRequiredService<IamService>(), body.RootElement, context.RequestAborted);
        });

    /// <summary>For operations whose body is a policy document itself, stored as sent.</summary>
    private static Task<IResult> RunWithRawBody(HttpContext context, string action, string resource, Func<IamService, string, CancellationToken, Task<IResult>> operation) =>
        Guarded(context, async () =>
        {
            if (await AuthorizeAsync(context, action, resource) is { } denied)
            {
                return denied;
            }

            using var reader = new StreamReader(context.Request.Body);
            var document = await reader.ReadToEndAsync(context.RequestAborted);
            return await operation(context.RequestServices.GetRequiredService<IamService>(), document, context.RequestAborted);
        });

    private static async Task<IResult> Guarded(HttpContext context, Func<Task<IResult>> handler)
    {
        try
        {
            return await handler();
        }
        catch (IamException e)
        {
            return Error(e.Type, e.Message, e.Status);
        }
    }

    /// <summary>Null when the caller may take the action on the resource; otherwise the 401 or 403 answer.</summary>
    private static async Task<IResult?> AuthorizeAsync(HttpContext context, string action, string resource)
    {
        context.Items[AuditKey] = (action, resource);
        var result = await context.AuthenticateAsync(RegistryAccess.PolicyScheme);
        if (result.Principal is not { Identity: { IsAuthenticated: true, Name.Length: > 0 } } user)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"registry\"";
            return Error("MissingAuthenticationToken", result.Failure?.Message ?? "sign in with Basic credentials or a token", 401);
        }

        context.User = user;
        var decision = await context.RequestServices.GetRequiredService<PolicyAuthorizer>().DecideIdentityAsync(user, action, resource, context);
        return decision == Decision.Allow ? null : Error("AccessDenied", $"{user.Identity!.Name} is not authorized to perform {action} on {resource}", 403);
    }

    private static async Task<JsonDocument> ReadJsonAsync(HttpContext context)
    {
        try
        {
            var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document : throw IamException.Invalid("the body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw IamException.Invalid($"the body is not valid JSON: {e.Message}");
        }
    }

    private static string Text(JsonElement body, string name) =>
        OptionalText(body, name) ?? throw IamException.Invalid($"{name} is required");

    private static string? OptionalText(JsonElement body, string name) =>
        !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw IamException.Invalid($"{name} must be a string");

    /// <summary>A policy document given as a JSON object or as a string holding one; its text as sent.</summary>
    private static string? OptionalDocument(JsonElement body, string name) =>
        !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : value.GetRawText();

    private static IResult Error(string type, string message, int status) =>
        Results.Json(new Dictionary<string, string> { ["__type"] = type, ["message"] = message }, statusCode: status);
}
