// The Container App: system-assigned managed identity (image pull, Key Vault, Redis, Sentinel
// data), external HTTPS ingress on 8000, probes, scale rules, Entra authentication switched on.

param location string
param prefix string
param tags object

@description('Container Apps environment resource id.')
param environmentId string

@description('Image to run, e.g. myregistry.azurecr.io/sentinel-mcp:<commit>. Empty on the very first deployment: a public placeholder runs until the AcrPull role exists (docs/deploy.md).')
param image string

param registryName string
param registryLoginServer string

@description('The port the server listens on (the image\'s EXPOSE and PORT).')
param containerPort int = 8000

@description('Entra tenant whose tokens the server accepts.')
param tenantId string

@description('Application (client) id of the server\'s Entra app registration (docs/security.md).')
param serverAppId string

@description('Log Analytics workspace id (GUID) of the Sentinel workspace the tools query.')
param sentinelWorkspaceId string

@description('ARM resource id of the Sentinel workspace (incidents through ARM, and the role assignments).')
param sentinelWorkspaceResourceId string

@allowed(['graph', 'arm'])
param incidentsApi string

param enableWriteTools bool

@description('Seconds in-flight requests get to finish after SIGTERM (issue 10\'s drain timeout).')
param drainTimeoutSecs int

@description('Seconds the platform waits after SIGTERM before SIGKILL; at least the drain timeout.')
param terminationGracePeriodSeconds int

param cpu string
param memory string
param minReplicas int
param maxReplicas int

@description('Concurrent HTTP requests per replica before another replica starts.')
param httpConcurrency int

@description('Active MCP sessions per replica before another starts (custom rule on sentinel_mcp_sessions_active in Application Insights); 0 leaves the rule out.')
param sessionsPerReplica int

param keyVaultName string
param connectionStringSecretUri string
param appInsightsName string

@description('rediss:// URL of the cache that relays sessions between replicas; empty with one replica.')
param redisUrl string

@description('Azure Cache for Redis name, for the access policy of the app\'s identity; empty without Redis.')
param redisName string

var bootstrap = empty(image)
// The placeholder listens on 80 and answers / only.
var runImage = bootstrap ? 'mcr.microsoft.com/k8se/quickstart:latest' : image
var port = bootstrap ? 80 : containerPort
var livenessPath = bootstrap ? '/' : '/health'
var readinessPath = bootstrap ? '/' : '/ready'
var appName = '${prefix}-app'

// The server refuses to start on 0.0.0.0 without authentication, and its Host guard refuses a
// host name it was not told about: both come from the app's own FQDN.
var fqdn = '${appName}.${environment.properties.defaultDomain}'
var publicUrl = 'https://${fqdn}'

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' existing = {
  name: last(split(environmentId, '/'))
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

var baseEnv = [
  { name: 'MCP_TRANSPORT', value: 'sse' }
  { name: 'HOST', value: '0.0.0.0' }
  { name: 'PORT', value: string(containerPort) }
  { name: 'SENTINEL_MCP_LOG_FORMAT', value: 'json' }
  { name: 'SENTINEL_MCP_AUTH', value: 'entra' }
  { name: 'AZURE_TENANT_ID', value: tenantId }
  { name: 'MCP_SERVER_APP_ID', value: serverAppId }
  { name: 'SENTINEL_MCP_PUBLIC_URL', value: publicUrl }
  { name: 'SENTINEL_MCP_ALLOWED_HOSTS', value: fqdn }
  { name: 'SENTINEL_MCP_BACKEND', value: 'azure' }
  { name: 'SENTINEL_WORKSPACE_ID', value: sentinelWorkspaceId }
  { name: 'SENTINEL_MCP_WORKSPACE_RESOURCE_ID', value: sentinelWorkspaceResourceId }
  { name: 'SENTINEL_MCP_INCIDENTS_API', value: incidentsApi }
  { name: 'SENTINEL_MCP_ENABLE_WRITE_TOOLS', value: string(enableWriteTools) }
  // No Azure CLI in the image: the managed identity is the only credential.
  { name: 'SENTINEL_MCP_AZURE_CLI', value: 'false' }
  { name: 'SENTINEL_MCP_DRAIN_TIMEOUT_SECS', value: string(drainTimeoutSecs) }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', secretRef: 'appinsights-connection-string' }
]
var redisEnv = empty(redisUrl) ? [] : [
  { name: 'SENTINEL_MCP_REDIS_URL', value: redisUrl }
  { name: 'SENTINEL_MCP_REDIS_ENTRA', value: 'true' }
]

var httpRule = {
  name: 'http-concurrency'
  http: { metadata: { concurrentRequests: string(httpConcurrency) } }
}
// KEDA's Azure Monitor scaler over the gauge the app exports to Application Insights, read with
// the app's own identity (Monitoring Reader below).
var sessionsRule = {
  name: 'active-sessions'
  custom: {
    type: 'azure-monitor'
    identity: 'system'
    metadata: {
      tenantId: tenantId
      subscriptionId: subscription().subscriptionId
      resourceGroupName: resourceGroup().name
      resourceURI: 'Microsoft.Insights/components/${appInsightsName}'
      metricNamespace: 'azure.applicationinsights'
      metricName: 'sentinel_mcp_sessions_active'
      metricAggregationType: 'Average'
      metricAggregationInterval: '0:1:0'
      targetValue: string(sessionsPerReplica)
    }
  }
}

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: appName
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    environmentId: environmentId
    configuration: {
      // Deployments add a revision at 0 % traffic, smoke-test it, then move traffic (deploy.yml).
      activeRevisionsMode: 'Multiple'
      maxInactiveRevisions: 10
      ingress: {
        external: true
        targetPort: port
        // HTTP/1.1 to the container: SSE streams and Streamable HTTP; TLS ends at the ingress.
        transport: 'http'
        allowInsecure: false
        // A template deployment (create.sh) serves the revision it creates; deploy.yml instead
        // adds a revision at 0 % and moves traffic to it after its smoke test.
        traffic: [{ latestRevision: true, weight: 100 }]
      }
      // Not on the placeholder revision: the identity's roles below do not exist yet when it starts.
      registries: bootstrap ? [] : [{ server: registryLoginServer, identity: 'system' }]
      secrets: bootstrap ? [] : [
        {
          name: 'appinsights-connection-string'
          keyVaultUrl: connectionStringSecretUri
          identity: 'system'
        }
      ]
    }
    template: {
      terminationGracePeriodSeconds: terminationGracePeriodSeconds
      containers: [
        {
          name: 'sentinel-mcp'
          image: runImage
          resources: { cpu: json(cpu), memory: memory }
          env: bootstrap ? [] : concat(baseEnv, redisEnv)
          probes: [
            {
              type: 'Startup'
              httpGet: { path: livenessPath, port: port }
              initialDelaySeconds: 1
              periodSeconds: 2
              failureThreshold: 30
              timeoutSeconds: 2
            }
            {
              type: 'Liveness'
              httpGet: { path: livenessPath, port: port }
              periodSeconds: 10
              failureThreshold: 3
              timeoutSeconds: 3
            }
            {
              type: 'Readiness'
              httpGet: { path: readinessPath, port: port }
              periodSeconds: 5
              failureThreshold: 3
              successThreshold: 1
              timeoutSeconds: 5
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: sessionsPerReplica > 0 && !bootstrap ? [httpRule, sessionsRule] : [httpRule]
      }
    }
  }
}

var roles = {
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringReader: '43d0d8ad-25c7-4714-9337-8ba259a9fe05'
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, app.id, roles.acrPull)
  scope: registry
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, app.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// The sessions scale rule reads the app's own metrics.
resource metricsReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, app.id, roles.monitoringReader)
  scope: appInsights
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringReader)
  }
}

resource redis 'Microsoft.Cache/redis@2024-11-01' existing = if (!empty(redisName)) {
  name: empty(redisName) ? 'none' : redisName
}

// Entra authentication to the cache: the identity is a data contributor, there is no access key.
resource redisAccess 'Microsoft.Cache/redis/accessPolicyAssignments@2024-11-01' = if (!empty(redisName)) {
  parent: redis
  name: 'sentinel-mcp-app'
  properties: {
    accessPolicyName: 'Data Contributor'
    objectId: app.identity.principalId
    objectIdAlias: appName
  }
}

output id string = app.id
output name string = app.name
output url string = publicUrl
output fqdn string = fqdn
output principalId string = app.identity.principalId
