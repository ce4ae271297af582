"""The chapter's library for PyTorch: ``from d2l import torch as d2l``."""
import sys
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from d2l import core as _core
from d2l import data as _data
from d2l.core import (DataModule, HyperParameters, ProgressBoard,
                      TrainerBase, __getattr__, add_to_class, check_positive,
                      plot, set_axes, set_figsize, use_svg_display)
from d2l.resources import *  # noqa: F401,F403
# The saved code refers to the library as `d2l`, as the sections do.
d2l = sys.modules[__name__]
# The names of d2l.hpo (the sections' saved code, which needs Syne Tune)
# come from __getattr__ above, on first use.


def cpu():
    """The CPU device."""
    return torch.device('cpu')


def gpu(i=0):
    """The i-th GPU device."""
    return torch.device(f'cuda:{i}')


def num_gpus():
    """The number of GPUs this process sees."""
    return torch.cuda.device_count()


def try_gpu(i=0):
    """The i-th GPU if it exists, else the CPU."""
    return gpu(i) if num_gpus() >= i + 1 else cpu()


def hpo_budget(name=None):
    """The chapter's compute budget: 'full' with a GPU, else 'cpu'."""
    return choose_budget(name, num_gpus())


class Module(nn.Module, HyperParameters):
    """The base class of models."""
    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X):
        return self.net(X)

    def initialize(self, X, shapes_only=False):
        """Prepare the parameters, given a first batch of inputs `X`.

        With `shapes_only`, only their shapes matter: a checkpoint is about
        to overwrite their values. Models that draw values of their own
        then skip that.
        """
        self(X[:1])

    def plot(self, key, value, train):
        """Record a point on the progress board, in epochs."""
        self.board.xlabel = 'epoch'
        if train:
            x = self.trainer.train_batch_idx / self.trainer.num_train_batches
            n = self.trainer.num_train_batches / self.plot_train_per_epoch
        else:
            x = self.trainer.epoch + 1
            n = self.trainer.num_val_batches / self.plot_valid_per_epoch
        self.board.draw(x, value.detach(),
                        ('train_' if train else 'val_') + key,
                        every_n=max(int(n), 1))

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot('loss', l, train=True)
        return l

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot('loss', l, train=False)

    def configure_optimizers(self):
        return _SGD(self.parameters(), lr=self.lr)


class _SGD:
    """Minibatch stochastic gradient descent, with the update and the
    `state_dict` of `torch.optim.SGD(params, lr)`.

    The first optimizer of `torch.optim` in a process imports
    `torch._dynamo` (about a second on a CPU), which every trial process
    would pay for a step that needs none of it.
    """
    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    @torch.no_grad()
    def step(self):
        for param in self.params:
            if param.grad is not None:
                param.add_(param.grad, alpha=-self.lr)

    def zero_grad(self):
        for param in self.params:
            param.grad = None

    def state_dict(self):
        # No state per parameter: one group with the learning rate.
        return {'state': {}, 'param_groups': [
            {'lr': self.lr, 'params': list(range(len(self.params)))}]}

    def load_state_dict(self, state_dict):
        (group,) = state_dict['param_groups']
        if state_dict['state'] or len(group['params']) != len(self.params):
            raise ValueError('not the state of plain SGD on these '
                             'parameters')
        self.lr = group['lr']


class Classifier(Module):
    """The base class of classification models."""
    def loss(self, Y_hat, Y, averaged=True):
        return F.cross_entropy(Y_hat, Y.long(),
                               reduction='mean' if averaged else 'none')

    def error(self, Y_hat, Y, averaged=True):
        """The fraction (or, if not averaged, the 0/1 mask) of mistakes."""
        wrong = (Y_hat.argmax(dim=1) != Y.long()).float()
        return wrong.mean() if averaged else wrong

    def validation_step(self, batch):
        """Plot loss and error on a batch; return its number of mistakes."""
        Y_hat = self(*batch[:-1])
        self.plot('loss', self.loss(Y_hat, batch[-1]), train=False)
        wrong = self.error(Y_hat, batch[-1], averaged=False)
        self.plot('error', wrong.mean(), train=False)
        return wrong.sum()


class Trainer(TrainerBase):
    """Train a model on data with minibatch SGD."""
    # The device functions above, for TrainerBase to choose the device.
    _cpu, _gpu, _num_gpus = map(staticmethod, (cpu, gpu, num_gpus))

    def _new_model(self, model):
        return model.to(self.device)

    def prepare_batch(self, batch):
        return [a.to(self.device) for a in batch]

    def fit_epoch(self):
        self.model.train()
        for batch in self.train_dataloader:
            loss = self.model.training_step(self.prepare_batch(batch))
            self.optim.zero_grad()
            loss.backward()
            if self.gradient_clip_val > 0:
                nn.utils.clip_grad_norm_(self.model.parameters(),
                                         self.gradient_clip_val)
            self.optim.step()
            self.train_batch_idx += 1
        if self.model.board.display:
            # Only a visible board needs per-epoch validation curves.
            self.validate(self.model)

    def _parameters(self):
        return self.model.state_dict()

    def _get_state(self):
        params = {k: v.detach().cpu().numpy()
                  for k, v in self._parameters().items()}
        optim = self.optim.state_dict()
        # Per-parameter state (momentum, ...) as arrays named index/key;
        # the hyperparameters of the groups are plain numbers.
        arrays = {f'{i}/{k}': v.cpu().numpy()
                  for i, state in optim['state'].items()
                  for k, v in state.items()}
        return params, arrays, optim['param_groups']

    def _set_state(self, params, optim, optim_meta):
        self.model.load_state_dict(
            {k: torch.from_numpy(v) for k, v in params.items()})
        state = {}
        for key, v in optim.items():
            i, k = key.split('/')
            state.setdefault(int(i), {})[k] = torch.from_numpy(v)
        self.optim.load_state_dict(dict(state=state,
                                        param_groups=optim_meta))

    def validate(self, model, dataloader=None):
        """The fraction of misclassified examples (a scalar) of
        `dataloader`, by default the validation data."""
        self._check_fitted(model)
        if dataloader is None:
            dataloader = self.val_dataloader
        model.eval()
        wrong, n = torch.zeros((), device=self.device), 0
        with torch.no_grad():
            for batch in dataloader:
                wrong += model.validation_step(self.prepare_batch(batch))
                n += len(batch[-1])
                self.val_batch_idx += 1
        return wrong / n


class AlexNet(Classifier):
    """AlexNet for 1-channel images :cite:`krizhevsky2012imagenet`.

    Inputs must be at least `min_size` pixels high and wide: smaller ones
    shrink to nothing before the dense layers.
    """
    min_size = 65

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        check_positive('lr', lr)
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Conv2d(1, 96, kernel_size=11, stride=4, padding=1),
            nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2), nn.Flatten(),
            nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(p=0.5),
            nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(p=0.5),
            nn.LazyLinear(num_classes))

    def forward(self, X):
        _data.check_image_size(X.shape[-2:], self.min_size)
        return self.net(X)

    def initialize(self, X, shapes_only=False):
        """Infer the lazy shapes from `X`, then apply He initialization
        (unless `shapes_only`: a checkpoint is about to overwrite it).

        He initialization :cite:`he2015delving` suits the ReLUs and lets
        the network learn from the first epoch at the small CPU budget.
        """
        self(X[:1])
        if shapes_only:
            return
        for layer in self.net:
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(layer.weight, nonlinearity='relu')
                nn.init.zeros_(layer.bias)


class FashionMNIST(_data.FashionMNISTBase):
    """The Fashion-MNIST dataset :cite:`xiao2017fashion`."""
    def transform(self, X, y):
        """Scale, resize and standardize a batch of uint8 images."""
        X = X.unsqueeze(1).float() / 255
        if tuple(X.shape[-2:]) != self.resize:
            X = F.interpolate(X, size=self.resize, mode='bilinear',
                              align_corners=False)
        return (X - _data.MEAN) / _data.STD, y.long()

    def _loader(self, images, labels, shuffle):
        # np.array copies the read-only cached arrays into tensors we own.
        dataset = torch.utils.data.TensorDataset(
            torch.from_numpy(np.array(images)),
            torch.from_numpy(np.array(labels)))
        return _data.TransformedLoader(torch.utils.data.DataLoader(
            dataset, self.batch_size, shuffle=shuffle,
            num_workers=self.num_workers), self.transform)


#################   WARNING   ################
# The part below is generated by tools/build_lib.py from the `#@save` blocks in the
# `#@tab pytorch` code cells of the chapter's sections, in toctree order. Do not edit it
# here: edit the section and run `make lib` (or `python tools/build_lib.py`).


# Saved from chapter_hyperparameter_optimization/hyperopt-intro.md
def alexnet_epochs(learning_rate, batch_size, max_epochs, seed=None):
    """Train AlexNet; after each epoch, yield the validation error."""
    import torch
    from d2l import torch as d2l
    if seed is not None:  # PyTorch also shuffles the data.
        torch.manual_seed(seed)
    model = d2l.AlexNet(lr=learning_rate)
    model.board.display = False  # No live plot for every trial.
    trainer = d2l.Trainer(max_epochs=1, num_gpus=1)
    data = d2l.FashionMNIST(batch_size, **d2l.hpo_budget().data_args())
    for epoch in range(1, max_epochs + 1):
        trainer.fit(model=model, data=data)  # One more epoch.
        yield {'epoch': epoch,
               'validation_error': float(trainer.validate(model))}


# Saved from chapter_hyperparameter_optimization/hyperopt-intro.md
def train_alexnet(learning_rate, batch_size, max_epochs, seed=None):
    """The validation error of AlexNet after `max_epochs` epochs."""
    d2l.check_positive('max_epochs', max_epochs)
    for report in alexnet_epochs(learning_rate, batch_size, max_epochs,
                                 seed):
        pass
    return report['validation_error']


# Saved from chapter_hyperparameter_optimization/rs-async.md
def objective(learning_rate, batch_size, max_epochs):
    """Train AlexNet one epoch at a time; after each epoch, save a
    checkpoint and report the validation error to Syne Tune."""
    from d2l import torch as d2l
    from syne_tune import Reporter
    budget = d2l.hpo_budget()
    model = d2l.AlexNet(lr=learning_rate)
    trainer = d2l.Trainer(max_epochs=1, num_gpus=1)
    data = d2l.FashionMNIST(batch_size=batch_size, **budget.data_args())
    checkpoint = d2l.trial_checkpoint()
    trainer.load_checkpoint(checkpoint, model, data)
    report, startup = Reporter(), d2l.seconds_since_process_start()
    while trainer.epoch < max_epochs:
        trainer.fit(model=model, data=data)
        validation_error = float(trainer.validate(model))
        trainer.save_checkpoint(checkpoint)
        report(epoch=trainer.epoch, startup=startup,
               validation_error=validation_error)


# Saved from chapter_hyperparameter_optimization/cluster.md
def objective_ray(config):
    """The chapter's objective for Ray Tune: a trial that Ray restarts
    continues from the last checkpoint that it reported."""
    import ray
    from d2l import torch as d2l
    budget = d2l.hpo_budget()
    model = d2l.AlexNet(lr=config['learning_rate'])
    trainer = d2l.Trainer(max_epochs=1, num_gpus=1)
    data = d2l.FashionMNIST(batch_size=config['batch_size'],
                            **budget.data_args())
    d2l.ray_restore(trainer, model, data)
    node = ray.get_runtime_context().get_node_id()[:8]
    while trainer.epoch < config['max_epochs']:
        trainer.fit(model=model, data=data)
        d2l.ray_report(trainer, epoch=trainer.epoch, node=node,
                       validation_error=float(trainer.validate(model)))
