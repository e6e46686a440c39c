# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Kubernetes API emulator (kmock) that plays just enough of a GPU cluster for the roles' flows.

It is not a cluster: there is no scheduler, kubelet or admission. What a real
cluster would do is played here, in the open:
- the DaemonSet controller: every applied DaemonSet reports itself rolled out on
  ``ready_nodes`` nodes (generation and observedGeneration tracked);
- the device plugin: once its DaemonSet exists, each Node advertises
  ``nvidia.com/gpu`` from ``advertised`` (node name -> count);
- scheduler and kubelet of the test pods: a created Pod gets the status, events
  and log of the scenario named for its node in ``pod_scenarios`` (from
  tests/unit/fixtures/validate/pod_states.yml).
"""

from __future__ import annotations

import asyncio
import copy
import threading

import aiohttp.web
import kmock
from kmock._internal import parsing

_parse_path = parsing.parse_path


def _parse_path_with_namespaces(path):
    # kmock 0.8 reads /api/v1/namespaces[/NAME] as a namespace prefix with nothing after it;
    # Namespace objects themselves live there.
    parts = path.strip('/').split('/')
    if parts[:3] == ['api', 'v1', 'namespaces'] and len(parts) <= 4:
        return parsing.ParsedPath('', 'v1', 'namespaces', None, parts[3] if len(parts) == 4 else None, None)
    return _parse_path(path)


parsing.parse_path = _parse_path_with_namespaces

CORE = {
    'v1/namespaces': ('Namespace', False, set()),
    'v1/nodes': ('Node', False, {'status'}),
    'v1/pods': ('Pod', True, {'status', 'log'}),
    'v1/events': ('Event', True, set()),
    'v1/configmaps': ('ConfigMap', True, set()),
    'apps/v1/daemonsets': ('DaemonSet', True, {'status'}),
    'apps/v1/deployments': ('Deployment', True, {'status'}),
    'node.k8s.io/v1/runtimeclasses': ('RuntimeClass', False, set()),
    'networking.k8s.io/v1/networkpolicies': ('NetworkPolicy', True, set()),
    'nvidia.com/v1/clusterpolicies': ('ClusterPolicy', False, {'status'}),
}
VERBS = {'get', 'list', 'watch', 'create', 'update', 'patch', 'delete'}


class GpuClusterEmulator(kmock.KubernetesEmulator):
    """kmock's emulator with the few cluster behaviours the GPU roles wait for (see the module docstring)."""

    def setup(self, nodes, advertised=None, pod_scenarios=None, ready_nodes=None):
        for key, (kind, namespaced, subresources) in CORE.items():
            self.resources[key] = kmock.ResourceInfo(kind=kind, namespaced=namespaced, singular=kind.lower(),
                                                     verbs=VERBS, subresources=subresources)
        for name in nodes:
            self.objects[kmock.resource('v1/nodes'), None, name] = {
                'apiVersion': 'v1', 'kind': 'Node',
                'metadata': {'name': name, 'labels': {'kubernetes.io/hostname': name}},
                'spec': {'taints': [{'key': 'example.com/dedicated', 'value': 'ml', 'effect': 'PreferNoSchedule'}]},
                'status': {'capacity': {'cpu': '16', 'memory': '128Gi'}},
            }
        self.advertised = dict(advertised or {})
        self.pod_scenarios = dict(pod_scenarios or {})
        self.ready_nodes = len(nodes) if ready_nodes is None else ready_nodes
        self.logs = {}

    async def _serve_list(self, request):
        # kmock leaves out kind and apiVersion, which the Kubernetes client needs to read a list.
        payload = await super()._serve_list(request)
        resource = request.resource
        kind = self.resources[resource].kind or ''
        group_version = '{0}/{1}'.format(resource.group, resource.version) if resource.group else resource.version
        return dict(payload, kind=kind + 'List', apiVersion=group_version)

    async def _handle(self, request):
        if request.subresource == 'log' and request.resource is not None and request.resource.plural == 'pods':
            text = self.logs.get((request.namespace, request.name))
            if text is None:
                return aiohttp.web.json_response({
                    'apiVersion': 'v1', 'kind': 'Status', 'status': 'Failure', 'code': 400, 'reason': 'BadRequest',
                    'message': 'container "nvidia-smi" in pod "{0}" is waiting to start: ContainerCreating'.format(
                        request.name)}, status=400)
            return aiohttp.web.Response(text=text, content_type='text/plain')
        response = await super()._handle(request)
        if request.resource is not None and request.action is not None:
            await self._play_controllers(request)
        return response

    def _find(self, plural, namespace, name):
        for (resource, obj_namespace, obj_name), obj in self.objects.items():
            if resource.plural == plural and obj_namespace == namespace and obj_name == name and not obj.deleted:
                return obj
        return None

    async def _play_controllers(self, request):
        action = request.action.name if hasattr(request.action, 'name') else str(request.action)
        if action not in ('CREATE', 'UPDATE'):
            return
        plural = request.resource.plural
        data = request.data if isinstance(request.data, dict) else {}
        name = request.name or (data.get('metadata') or {}).get('name')
        namespace = request.namespace or (data.get('metadata') or {}).get('namespace')
        async with self._lock:
            obj = self._find(plural, namespace, name)
            if obj is None:
                return
            if plural == 'daemonsets':
                self._roll_out(obj)
                if name == 'nvidia-device-plugin-daemonset':
                    self._advertise()
            elif plural == 'pods' and action == 'CREATE':
                self._run_pod(obj, namespace, name)

    def _roll_out(self, obj):
        raw = obj.raw
        last_spec = (raw.get('metadata') or {}).get('annotations', {}).get('emulator/spec')
        generation = (raw.get('metadata') or {}).get('generation') or 0
        spec = repr(raw.get('spec'))
        if spec != last_spec:
            generation += 1
        ready = self.ready_nodes
        obj.patch({'metadata': {'generation': generation, 'annotations': {'emulator/spec': spec}},
                   'status': {'desiredNumberScheduled': ready, 'currentNumberScheduled': ready, 'numberReady': ready,
                              'updatedNumberScheduled': ready, 'numberAvailable': ready,
                              'observedGeneration': generation}})

    def _advertise(self):
        for node, count in self.advertised.items():
            obj = self._find('nodes', None, node)
            if obj is not None:
                obj.patch({'status': {'capacity': {'nvidia.com/gpu': str(count)},
                                      'allocatable': {'nvidia.com/gpu': str(count)}}})

    def _run_pod(self, obj, namespace, name):
        node = ((obj.raw.get('metadata') or {}).get('annotations') or {}).get('kubegpu.nvidia/node')
        scenario = self.pod_scenarios.get(node)
        if not scenario:
            return
        obj.patch({'status': copy.deepcopy(scenario['status'])})
        if scenario.get('log') is not None:
            self.logs[(namespace, name)] = scenario['log']
        for index, event in enumerate(scenario.get('events') or []):
            event_name = '{0}.{1}'.format(name, index)
            self.objects[kmock.resource('v1/events'), namespace, event_name] = dict(
                event, apiVersion='v1', kind='Event', metadata={'name': event_name, 'namespace': namespace},
                involvedObject={'kind': 'Pod', 'name': name, 'namespace': namespace})


class EmulatorThread:
    """Runs the emulator on 127.0.0.1 in a thread of its own, for playbooks run as subprocesses."""

    def __init__(self, **setup):
        self.setup = setup
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop_event = None
        self.url = None
        self.emulator = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self):
        self.stop_event = asyncio.Event()
        async with GpuClusterEmulator() as emulator, kmock.Server(emulator) as server:
            emulator.setup(**self.setup)
            self.emulator = emulator
            self.url = str(server.url).rstrip('/')
            self.ready.set()
            await self.stop_event.wait()

    def __enter__(self):
        self.thread.start()
        if not self.ready.wait(30):
            raise RuntimeError('the Kubernetes API emulator did not start')
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(10)

    def call(self, func, *args):
        """Run func(emulator, *args) on the emulator's loop (objects are not thread-safe)."""
        async def wrapper():
            return func(self.emulator, *args)
        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(10)

    def objects(self, plural, namespace=None):
        def read(emulator):
            return {name: copy.deepcopy(obj.raw) for (res, ns, name), obj in emulator.objects.items()
                    if res.plural == plural and ns == namespace and not obj.deleted}
        return self.call(read)

    def kubeconfig(self, path):
        path.write_text(
            'apiVersion: v1\nkind: Config\ncurrent-context: emulator\n'
            'clusters:\n- name: emulator\n  cluster:\n    server: {0}\n'
            'contexts:\n- name: emulator\n  context:\n    cluster: emulator\n    user: emulator\n'
            'users:\n- name: emulator\n  user:\n    token: emulator\n'.format(self.url))
        return path
