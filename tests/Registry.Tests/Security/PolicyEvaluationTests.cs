using System.Net;
using Registry.Security.Policies;

namespace Registry.Tests.Security;

/// <summary>
/// The policy-evaluation table: principal × action × resource × conditions → decision, including the
/// examples of AWS's documentation on ECR repository policies and on IAM's evaluation logic.
/// </summary>
public sealed class PolicyEvaluationTests
{
    private const string Account = "111122223333";
    private const string OtherAccount = "444455556666";
    private const string Repo = $"arn:aws:ecr:us-east-1:{Account}:repository/team/app";
    private const string OtherRepo = $"arn:aws:ecr:us-east-1:{Account}:repository/other/app";

    private static readonly Principal Alice = new($"arn:aws:iam::{Account}:user/alice", Account);
    private static readonly Principal Bob = new($"arn:aws:iam::{Account}:user/engineering/bob", Account);
    private static readonly Principal Outsider = new($"arn:aws:iam::{OtherAccount}:user/carol", OtherAccount);
    private static readonly Principal CiRole = new($"arn:aws:sts::{Account}:assumed-role/ci/build-42", Account, $"arn:aws:iam::{Account}:role/ci");
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    // ECR documentation, "Repository policy examples": push and pull for specific IAM users.
    private const string PushPullForUsers = $$$$"""
        {"Version":"2012-10-17","Statement":[{"Sid":"AllowPushPull","Effect":"Allow",
          "Principal":{"AWS":["arn:aws:iam::{{{{Account}}}}:user/alice","arn:aws:iam::{{{{Account}}}}:user/engineering/bob"]},
          "Action":["ecr:BatchGetImage","ecr:BatchCheckLayerAvailability","ecr:CompleteLayerUpload","ecr:GetDownloadUrlForLayer","ecr:InitiateLayerUpload","ecr:PutImage","ecr:UploadLayerPart"]}]}
        """;

    // ECR documentation: pull for another account (its root = every principal the account allows).
    private const string PullForOtherAccount = $$$$"""
        {"Version":"2012-10-17","Statement":[{"Sid":"AllowCrossAccountPull","Effect":"Allow",
          "Principal":{"AWS":"arn:aws:iam::{{{{OtherAccount}}}}:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}
        """;

    // ECR documentation: deny pull to everyone.
    private const string DenyPullToAll = """
        {"Version":"2012-10-17","Statement":[{"Sid":"DenyPull","Effect":"Deny","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}
        """;

    // ECR documentation: restrict access to specific IP addresses.
    private const string OnlyFromOfficeNetwork = """
        {"Version":"2012-10-17","Statement":[{"Sid":"LimitByIp","Effect":"Deny","Principal":"*","Action":"ecr:*",
          "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}}]}
        """;

    // ECR documentation: allow an AWS service (CodeBuild) to pull, scoped by source account and ARN.
    private const string CodeBuildPull = $$$$"""
        {"Version":"2012-10-17","Statement":[{"Sid":"CodeBuildAccess","Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},
          "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],
          "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:codebuild:us-east-1:{{{{Account}}}}:project/project-name"},"StringEquals":{"aws:SourceAccount":"{{{{Account}}}}"}}}]}
        """;

    private const string PublicPull = """
        {"Version":"2012-10-17","Statement":[{"Sid":"PublicPull","Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}]}
        """;

    private const string EcrFullAccess = """{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}""";

    private const string PullTeamRepositories = $$$$"""
        {"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:Get*"],"Resource":"arn:aws:ecr:*:{{{{Account}}}}:repository/team/*"}}
        """;

    // IAM documentation, evaluation logic: an explicit deny in any policy overrides any allow.
    private const string DenyDeleteEverywhere = """{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"ecr:BatchDeleteImage","Resource":"*"}}""";

    // IAM documentation: NotAction with Allow — everything except ECR deletions.
    private const string AllButDelete = """{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":["ecr:BatchDeleteImage","ecr:DeleteRepository"],"Resource":"*"}}""";

    private const string AllButOtherRepos = $$$$"""{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","NotResource":"arn:aws:ecr:*:{{{{Account}}}}:repository/other/*"}}""";

    // IAM documentation, policy variables: each user may push only to the repository named after them.
    private const string OwnRepository = $$$$"""
        {"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:*:{{{{Account}}}}:repository/home/${aws:username}"}}
        """;

    private const string OwnRepositoryOldVersion = $$$$"""
        {"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:*:{{{{Account}}}}:repository/home/${aws:username}"}}
        """;

    private const string DenyInsecureTransport = """
        {"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}
        """;

    private const string AllowUntil2027 = """
        {"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"},"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}}}
        """;

    private const string AllowTeamTagged = """
        {"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":["web","api"]}}}}
        """;

    private const string DenyUnlessTeamTagIfExists = """
        {"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"ecr:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:ResourceTag/team":"web"}}}}
        """;

    private const string DenyUntagged = """
        {"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"ecr:*","Resource":"*","Condition":{"Null":{"aws:ResourceTag/team":"true"}}}}
        """;

    private const string OnlyAllowedTagKeys = """
        {"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:TagResource","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team","cost-center"]}}}}
        """;

    private const string AnyTagKeyLike = """
        {"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:TagResource","Resource":"*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":"env-*"}}}}
        """;

    private const string RolesByArnLike = $$$$"""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"ecr:BatchGetImage",
          "Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::{{{{Account}}}}:role/c*"}}}]}
        """;

    private const string CiRolePush = $$$$"""
        {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::{{{{Account}}}}:role/ci"},"Action":["ecr:PutImage","ecr:InitiateLayerUpload"]}]}
        """;

    private const string EveryoneButAlice = $$$$"""
        {"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::{{{{Account}}}}:user/alice"},"Action":"ecr:PutImage"}]}
        """;

    private const string StringNotLikeDeny = """
        {"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"ecr:*","Resource":"*","Condition":{"StringNotLike":{"aws:username":"svc-*"}}}}
        """;

    public static readonly TheoryData<string, string[], string[], string?, string, string, string?, Decision> Table = new()
    {
        // name, identity policies, resource policies, principal, action, resource, context, expected
        { "no policy: implicit deny", [], [], "alice", "ecr:BatchGetImage", Repo, null, Decision.ImplicitDeny },
        { "identity allow", [EcrFullAccess], [], "alice", "ecr:PutImage", Repo, null, Decision.Allow },
        { "repository policy alone allows a named user", [], [PushPullForUsers], "bob", "ecr:UploadLayerPart", Repo, null, Decision.Allow },
        { "repository policy: action not listed", [], [PushPullForUsers], "alice", "ecr:BatchDeleteImage", Repo, null, Decision.ImplicitDeny },
        { "repository policy: user not named", [], [PushPullForUsers], "outsider", "ecr:BatchGetImage", Repo, null, Decision.ImplicitDeny },
        { "cross-account root names every principal of that account", [], [PullForOtherAccount], "outsider", "ecr:BatchGetImage", Repo, null, Decision.Allow },
        { "cross-account pull does not grant push", [], [PullForOtherAccount], "outsider", "ecr:PutImage", Repo, null, Decision.ImplicitDeny },
        { "cross-account root does not name this account", [], [PullForOtherAccount], "alice", "ecr:BatchGetImage", Repo, null, Decision.ImplicitDeny },
        { "repository deny beats identity allow", [EcrFullAccess], [DenyPullToAll], "alice", "ecr:BatchGetImage", Repo, null, Decision.ExplicitDeny },
        { "repository deny of pull leaves push", [EcrFullAccess], [DenyPullToAll], "alice", "ecr:PutImage", Repo, null, Decision.Allow },
        { "ip restriction: inside the network", [EcrFullAccess], [OnlyFromOfficeNetwork], "alice", "ecr:PutImage", Repo, "ip=192.0.2.77", Decision.Allow },
        { "ip restriction: outside the network", [EcrFullAccess], [OnlyFromOfficeNetwork], "alice", "ecr:PutImage", Repo, "ip=198.51.100.7", Decision.ExplicitDeny },
        { "ip restriction: no source address is outside", [EcrFullAccess], [OnlyFromOfficeNetwork], "alice", "ecr:PutImage", Repo, null, Decision.ExplicitDeny },
        { "service principal does not name a user", [], [CodeBuildPull], "alice", "ecr:BatchGetImage", Repo, null, Decision.ImplicitDeny },
        { "public pull for anonymous", [], [PublicPull], null, "ecr:BatchGetImage", Repo, null, Decision.Allow },
        { "public pull is not public push", [], [PublicPull], null, "ecr:PutImage", Repo, null, Decision.ImplicitDeny },
        { "anonymous without a public policy", [EcrFullAccess], [], null, "ecr:BatchGetImage", Repo, null, Decision.ImplicitDeny },
        { "resource wildcard matches", [PullTeamRepositories], [], "alice", "ecr:GetDownloadUrlForLayer", Repo, null, Decision.Allow },
        { "resource wildcard excludes", [PullTeamRepositories], [], "alice", "ecr:BatchGetImage", OtherRepo, null, Decision.ImplicitDeny },
        { "actions compare case-insensitively", [PullTeamRepositories], [], "alice", "ECR:batchgetimage", Repo, null, Decision.Allow },
        { "explicit deny in one identity policy beats allow in another", [EcrFullAccess, DenyDeleteEverywhere], [], "alice", "ecr:BatchDeleteImage", Repo, null, Decision.ExplicitDeny },
        { "NotAction allows the rest", [AllButDelete], [], "alice", "ecr:PutImage", Repo, null, Decision.Allow },
        { "NotAction does not allow what it names", [AllButDelete], [], "alice", "ecr:DeleteRepository", Repo, null, Decision.ImplicitDeny },
        { "NotResource allows elsewhere", [AllButOtherRepos], [], "alice", "ecr:PutImage", Repo, null, Decision.Allow },
        { "NotResource excludes what it names", [AllButOtherRepos], [], "alice", "ecr:PutImage", OtherRepo, null, Decision.ImplicitDeny },
        { "policy variable: own repository", [OwnRepository], [], "alice", "ecr:PutImage", $"arn:aws:ecr:us-east-1:{Account}:repository/home/alice", null, Decision.Allow },
        { "policy variable: someone else's repository", [OwnRepository], [], "bob", "ecr:PutImage", $"arn:aws:ecr:us-east-1:{Account}:repository/home/alice", null, Decision.ImplicitDeny },
        { "policy variable: user name without path", [OwnRepository], [], "bob", "ecr:PutImage", $"arn:aws:ecr:us-east-1:{Account}:repository/home/bob", null, Decision.Allow },
        { "policy variable: unresolved for a role session", [OwnRepository], [], "ci", "ecr:PutImage", $"arn:aws:ecr:us-east-1:{Account}:repository/home/ci", null, Decision.ImplicitDeny },
        { "policy variable: literal before version 2012-10-17", [OwnRepositoryOldVersion], [], "alice", "ecr:PutImage", $"arn:aws:ecr:us-east-1:{Account}:repository/home/alice", null, Decision.ImplicitDeny },
        { "Bool: insecure transport denied", [EcrFullAccess, DenyInsecureTransport], [], "alice", "ecr:PutImage", Repo, "secure=false", Decision.ExplicitDeny },
        { "Bool: secure transport allowed", [EcrFullAccess, DenyInsecureTransport], [], "alice", "ecr:PutImage", Repo, "secure=true", Decision.Allow },
        { "Date: inside the window", [AllowUntil2027], [], "alice", "ecr:PutImage", Repo, "now", Decision.Allow },
        { "Date: after the window", [AllowUntil2027], [], "alice", "ecr:PutImage", Repo, "now=2027-02-01T00:00:00Z", Decision.ImplicitDeny },
        { "Date: no time in the request fails a positive operator", [AllowUntil2027], [], "alice", "ecr:PutImage", Repo, null, Decision.ImplicitDeny },
        { "StringEquals: one of several values", [AllowTeamTagged], [], "alice", "ecr:PutImage", Repo, "tag:team=api", Decision.Allow },
        { "StringEquals: none of the values", [AllowTeamTagged], [], "alice", "ecr:PutImage", Repo, "tag:team=ops", Decision.ImplicitDeny },
        { "StringEquals: missing key", [AllowTeamTagged], [], "alice", "ecr:PutImage", Repo, null, Decision.ImplicitDeny },
        { "IfExists: missing key passes the deny's condition", [EcrFullAccess, DenyUnlessTeamTagIfExists], [], "alice", "ecr:PutImage", Repo, null, Decision.ExplicitDeny },
        { "IfExists: present and equal", [EcrFullAccess, DenyUnlessTeamTagIfExists], [], "alice", "ecr:PutImage", Repo, "tag:team=web", Decision.Allow },
        { "IfExists: present and different", [EcrFullAccess, DenyUnlessTeamTagIfExists], [], "alice", "ecr:PutImage", Repo, "tag:team=api", Decision.ExplicitDeny },
        { "Null: untagged resource denied", [EcrFullAccess, DenyUntagged], [], "alice", "ecr:PutImage", Repo, null, Decision.ExplicitDeny },
        { "Null: tagged resource allowed", [EcrFullAccess, DenyUntagged], [], "alice", "ecr:PutImage", Repo, "tag:team=web", Decision.Allow },
        { "ForAllValues: every key allowed", [OnlyAllowedTagKeys], [], "alice", "ecr:TagResource", Repo, "tagkeys=team,cost-center", Decision.Allow },
        { "ForAllValues: one key not allowed", [OnlyAllowedTagKeys], [], "alice", "ecr:TagResource", Repo, "tagkeys=team,owner", Decision.ImplicitDeny },
        { "ForAllValues: no keys at all holds", [OnlyAllowedTagKeys], [], "alice", "ecr:TagResource", Repo, null, Decision.Allow },
        { "ForAnyValue: one key matches", [AnyTagKeyLike], [], "alice", "ecr:TagResource", Repo, "tagkeys=team,env-prod", Decision.Allow },
        { "ForAnyValue: no key matches", [AnyTagKeyLike], [], "alice", "ecr:TagResource", Repo, "tagkeys=team", Decision.ImplicitDeny },
        { "ForAnyValue: no keys at all fails", [AnyTagKeyLike], [], "alice", "ecr:TagResource", Repo, null, Decision.ImplicitDeny },
        { "ArnLike on aws:PrincipalArn: a role session", [], [RolesByArnLike], "ci", "ecr:BatchGetImage", Repo, null, Decision.Allow },
        { "ArnLike on aws:PrincipalArn: a user", [], [RolesByArnLike], "alice", "ecr:BatchGetImage", Repo, null, Decision.ImplicitDeny },
        { "a role ARN names its sessions", [], [CiRolePush], "ci", "ecr:PutImage", Repo, null, Decision.Allow },
        { "NotPrincipal deny spares the named user", [EcrFullAccess], [EveryoneButAlice], "alice", "ecr:PutImage", Repo, null, Decision.Allow },
        { "NotPrincipal deny hits everyone else", [EcrFullAccess], [EveryoneButAlice], "bob", "ecr:PutImage", Repo, null, Decision.ExplicitDeny },
        { "negated operator: missing key satisfies it", [EcrFullAccess, StringNotLikeDeny], [], "ci", "ecr:PutImage", Repo, null, Decision.ExplicitDeny },
        { "negated operator: a value outside the pattern satisfies it", [EcrFullAccess, StringNotLikeDeny], [], "alice", "ecr:PutImage", Repo, null, Decision.ExplicitDeny },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Decides(string name, string[] identity, string[] resource, string? who, string action, string resourceArn, string? context, Decision expected)
    {
        var request = new RequestContext(PrincipalNamed(who), action, resourceArn);
        Apply(request, context);

        var decision = PolicyEvaluator.Evaluate(
            request,
            identity.Select(p => PolicyParser.Parse(p, PolicyKind.Identity)),
            resource.Select(p => PolicyParser.Parse(p, PolicyKind.Resource)));

        Assert.True(expected == decision, $"{name}: expected {expected}, got {decision}");
    }

    [Fact]
    public void A_service_prefixed_user_passes_a_negated_like_deny()
    {
        var svc = new Principal($"arn:aws:iam::{Account}:user/svc-deployer", Account);
        var request = new RequestContext(svc, "ecr:PutImage", Repo);

        var decision = PolicyEvaluator.Evaluate(request, [PolicyParser.Parse(EcrFullAccess, PolicyKind.Identity), PolicyParser.Parse(StringNotLikeDeny, PolicyKind.Identity)], []);

        Assert.Equal(Decision.Allow, decision);
    }

    [Theory]
    [InlineData("a*c", "abc", true)]
    [InlineData("a*c", "ac", true)]
    [InlineData("a*c", "abd", false)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "ac", false)]
    [InlineData("*", "", true)]
    [InlineData("repository/*/app", "repository/team/sub/app", true)]
    [InlineData("*b*b*", "abab", true)]
    [InlineData("*b*b*", "ab", false)]
    public void Wildcards_match_as_iam_does(string pattern, string value, bool expected) =>
        Assert.Equal(expected, Wildcard.IsMatch(pattern, value));

    private static Principal? PrincipalNamed(string? who) => who switch
    {
        null => null,
        "alice" => Alice,
        "bob" => Bob,
        "outsider" => Outsider,
        "ci" => CiRole,
        _ => throw new ArgumentOutOfRangeException(nameof(who), who, null),
    };

    /// <summary>Context shorthand: <c>ip=…</c>, <c>secure=…</c>, <c>now</c> / <c>now=…</c>, <c>tag:k=v</c>, <c>tagkeys=a,b</c>.</summary>
    private static void Apply(RequestContext request, string? context)
    {
        switch (context)
        {
            case null:
                return;
            case var ip when ip.StartsWith("ip=", StringComparison.Ordinal):
                request.WithRequest(IPAddress.Parse(ip[3..]), secureTransport: true, Now);
                return;
            case var secure when secure.StartsWith("secure=", StringComparison.Ordinal):
                request.WithRequest(null, secure == "secure=true", Now);
                return;
            case "now":
                request.WithRequest(null, true, Now);
                return;
            case var now when now.StartsWith("now=", StringComparison.Ordinal):
                request.WithRequest(null, true, DateTimeOffset.Parse(now[4..], System.Globalization.CultureInfo.InvariantCulture));
                return;
            case var tag when tag.StartsWith("tag:", StringComparison.Ordinal):
                var (key, value) = (tag[4..tag.IndexOf('=', StringComparison.Ordinal)], tag[(tag.IndexOf('=', StringComparison.Ordinal) + 1)..]);
                request.WithResourceTags([new(key, value)]);
                return;
            case var keys when keys.StartsWith("tagkeys=", StringComparison.Ordinal):
                request.Set("aws:TagKeys", keys[8..].Split(','));
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(context), context, null);
        }
    }
}
