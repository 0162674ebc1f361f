using System.Security.Claims;
using Microsoft.Extensions.Options;
using Registry.Auth;
using Registry.Security.Policies;
using Registry.Observability;

namespace Registry.Iam;

/// <summary>
/// Decides requests with IAM's evaluation logic over the caller's identity policies (attached to the
/// user and its groups), the repository's policy and the registry policy. The caller is the user a
/// password or token names; a token from an anonymous <c>/token</c> request, or no credentials, is
/// anonymous, which only a policy naming <c>"Principal": "*"</c> lets in.
/// </summary>
internal sealed class PolicyAuthorizer(PolicyStore policies, IOptions<AwsOptions> aws, TimeProvider clock, RegistryMetrics metrics)
{
    private const int MaxRemembered = 100_000;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string User, string Action, string Repository), RememberedDecision> _decisions = new();

    /// <summary>
    /// Decides an ECR action on a repository (null: the registry as a whole, as for the catalog);
    /// <paramref name="requestKeys"/> adds condition keys of the request itself, such as aws:TagKeys for TagResource.
    /// </summary>
    public async Task<Decision> DecideAsync(ClaimsPrincipal user, string action, string? repository, HttpContext context, Action<RequestContext>? requestKeys = null)
    {
        var settings = aws.Value;
        var name = UserName(user);
        var identity = name is null ? [] : await policies.IdentityPoliciesAsync(name, context.RequestAborted);
        var resource = await policies.ResourceFactsAsync(repository, context.RequestAborted);

        // The hot path: while the same parsed policies apply and none looks at the request, the decision
        // for this principal, action and resource is the one made last time.
        var key = (name ?? "", action, repository ?? "");
        var remember = requestKeys is null && resource.Tags.Count == 0 && !identity.Any(p => p.DependsOnRequest) && !resource.Policies.Any(p => p.DependsOnRequest);
        if (remember && _decisions.TryGetValue(key, out var known) && ReferenceEquals(known.Identity, identity) && ReferenceEquals(known.Resource, resource))
        {
            metrics.Decided(action, known.Decision == Decision.Allow);
            return known.Decision;
        }

        var request = Request(name, action, repository is null ? settings.RegistryArn : settings.RepositoryArn(repository), context);
        request.WithResourceTags(resource.Tags);
        requestKeys?.Invoke(request);
        var decision = PolicyEvaluator.Evaluate(request, identity, resource.Policies);
        if (remember)
        {
            if (_decisions.Count > MaxRemembered)
            {
                _decisions.Clear();
            }

            _decisions[key] = new RememberedDecision(identity, resource, decision);
        }

        metrics.Decided(action, decision == Decision.Allow);
        return decision;
    }

    /// <summary>Decides an action on a resource that has no resource policy (users, groups, roles, policies): identity policies alone.</summary>
    public async Task<Decision> DecideIdentityAsync(ClaimsPrincipal user, string action, string resourceArn, HttpContext context)
    {
        if (UserName(user) is not { } name)
        {
            return Decision.ImplicitDeny;
        }

        var decision = PolicyEvaluator.Evaluate(Request(name, action, resourceArn, context), await policies.IdentityPoliciesAsync(name, context.RequestAborted), []);
        metrics.Decided(action, decision == Decision.Allow);
        return decision;
    }

    private static string? UserName(ClaimsPrincipal user) =>
        user.Identity?.IsAuthenticated == true && user.Identity.Name is { Length: > 0 } name ? name : null;

    private RequestContext Request(string? userName, string action, string resourceArn, HttpContext context)
    {
        var settings = aws.Value;
        var principal = userName is null ? null
            : PrincipalNames.TryGetRole(userName, out var role) ? new Principal(settings.CallerArn(userName), settings.AccountId, settings.RoleArn(role))
            : new Principal(settings.UserArn(userName), settings.AccountId);
        return new RequestContext(principal, action, resourceArn)
            .WithRequest(context.Connection.RemoteIpAddress, context.Request.IsHttps, clock.GetUtcNow());
    }

    /// <summary>The token-flow actions of <paramref name="requested"/> the policies allow (each if any ECR action behind it is allowed).</summary>
    public async Task<IReadOnlyList<string>> GrantAsync(ClaimsPrincipal user, AccessScope requested, HttpContext context)
    {
        var repository = requested.Type == "repository" ? requested.Name : null;
        var granted = new List<string>();
        foreach (var action in requested.Actions)
        {
            foreach (var ecrAction in EcrActions.BehindDockerAction(requested.Type, action))
            {
                if (await DecideAsync(user, ecrAction, repository, context) == Decision.Allow)
                {
                    granted.Add(action);
                    break;
                }
            }
        }

        return granted;
    }

    /// <summary>A decision and the parsed policies it was made under (a policy refresh makes new lists, which retires it).</summary>
    private sealed record RememberedDecision(IReadOnlyList<PolicyDocument> Identity, ResourceFacts Resource, Decision Decision);
}
