"""`keras-resnet convert CHECKPOINT [--model NAME] -o OUT.keras`: a PyTorch checkpoint -> our Keras model."""

from ._args import shape


def register(sub):
    p = sub.add_parser(
        "convert",
        help="convert a PyTorch checkpoint (akamaster CIFAR or torchvision/timm ImageNet ResNet) to .keras, "
             "verified against PyTorch",
    )
    p.add_argument("checkpoint", help="a .th/.pth/.pt/.bin file (needs the 'convert' extra: torch) or .safetensors")
    p.add_argument("--model", "-m", help="our model name, to check the detected depth (e.g. resnet56); "
                                         "detected from the keys when left out")
    p.add_argument("--output", "-o", required=True, help="the .keras (or .weights.h5) file to write")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    p.add_argument("--no-verify", action="store_true", help="skip the check of the logits against PyTorch")
    p.add_argument("--input-shape", type=shape, help="H,W,C of the Keras model (default 32,32,3 CIFAR, 224,224,3 ImageNet)")
    p.set_defaults(func=run_convert)


def run_convert(args):
    from ..convert import convert

    convert(args.checkpoint, model=args.model, output=args.output, verify=not args.no_verify,
            overwrite=args.overwrite, input_shape=args.input_shape)
